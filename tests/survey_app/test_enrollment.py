"""Enrollment of a tablet through its one-time link."""
from datetime import timedelta

from sqlalchemy import select

from survey_app.devices import complete_enrollment, create_device, device_for_enrollment_code
from survey_app.extensions import db
from survey_app.models import Device, Facility
from survey_app.timeutil import utcnow

from ..conftest import FACILITY_CODE
from .test_survey_form import hidden_value

FORM_URL = f"/f/{FACILITY_CODE}"


def new_enrollment(app, facility_code: str = FACILITY_CODE) -> tuple[int, str]:
    with app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == facility_code))
        device, _token, code = create_device(facility, "受付横")
        return device.id, code


def confirm(client, code: str):
    page = client.get(f"/enroll/{code}")
    assert page.status_code == 200
    token = hidden_value(page.get_data(as_text=True), "csrf_token")
    return client.post(f"/enroll/{code}", data={"csrf_token": token})


def test_get_shows_a_confirmation_and_enrolls_nothing(client, app):
    device_id, code = new_enrollment(app)
    page = client.get(f"/enroll/{code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "このタブレットを<strong>川口市 就労支援コーナー</strong>の回答用端末として登録します" in text
    assert "登録する</button>" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers or "survey_device" not in page.headers["Set-Cookie"]
    with app.app_context():
        assert db.session.get(Device, device_id).enrolled_at is None


def test_post_sets_the_device_cookie_and_redirects_to_the_form(client, app):
    device_id, code = new_enrollment(app)
    result = confirm(client, code)
    assert result.status_code == 303
    assert result.headers["Location"] == FORM_URL
    cookie = next(c for c in result.headers.getlist("Set-Cookie")
                  if c.startswith(app.config["DEVICE_COOKIE_NAME"] + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"Max-Age={app.config['DEVICE_COOKIE_MAX_AGE']}" in cookie
    assert "Secure" not in cookie  # plain http here; Secure when the request is https
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert device.enrolled_at is not None and device.enrollment_code_hash is None
    assert client.get(FORM_URL).status_code == 200


def test_cookie_is_secure_over_https(client, app):
    _device_id, code = new_enrollment(app)
    page = client.get(f"/enroll/{code}", base_url="https://localhost")
    token = hidden_value(page.get_data(as_text=True), "csrf_token")
    result = client.post(f"/enroll/{code}", data={"csrf_token": token}, base_url="https://localhost",
                         headers={"Referer": f"https://localhost/enroll/{code}"})
    assert result.status_code == 303
    cookie = next(c for c in result.headers.getlist("Set-Cookie") if c.startswith("survey_device="))
    assert "Secure" in cookie


def test_cookie_is_secure_whenever_the_session_cookie_is(client, app):
    # SURVEY_SESSION_COOKIE_SECURE=true behind a TLS proxy: the device cookie follows it.
    app.config["SESSION_COOKIE_SECURE"] = True
    _device_id, code = new_enrollment(app)
    page = client.get(f"/enroll/{code}")
    session_cookie = next(c for c in page.headers.getlist("Set-Cookie") if c.startswith("session="))
    token = hidden_value(page.get_data(as_text=True), "csrf_token")
    result = client.post(f"/enroll/{code}", data={"csrf_token": token})
    assert result.status_code == 303
    device_cookie = next(c for c in result.headers.getlist("Set-Cookie") if c.startswith("survey_device="))
    assert "Secure" in session_cookie and "Secure" in device_cookie


def test_post_without_csrf_token_enrolls_nothing(client, app):
    device_id, code = new_enrollment(app)
    assert client.post(f"/enroll/{code}").status_code == 400
    with app.app_context():
        assert db.session.get(Device, device_id).enrolled_at is None


def test_used_code_is_a_polite_404(client, app):
    _device_id, code = new_enrollment(app)
    assert confirm(client, code).status_code == 303
    other = app.test_client()
    page = other.get(f"/enroll/{code}")
    assert page.status_code == 404
    assert "この登録用のアドレスは使えません" in page.get_data(as_text=True)
    # Nor can the code be spent a second time by a replayed POST.
    token = hidden_value(other.get(f"/enroll/{_fresh_code(app)}").get_data(as_text=True), "csrf_token")
    assert other.post(f"/enroll/{code}", data={"csrf_token": token}).status_code == 404


def _fresh_code(app) -> str:
    return new_enrollment(app)[1]


def test_expired_code_is_a_polite_404(client, app):
    device_id, code = new_enrollment(app)
    with app.app_context():
        db.session.get(Device, device_id).enrollment_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = client.get(f"/enroll/{code}")
    assert page.status_code == 404
    assert "有効期限が切れている" in page.get_data(as_text=True)


def test_unknown_code_is_a_polite_404(client):
    page = client.get("/enroll/not-a-real-code")
    assert page.status_code == 404
    assert '<html lang="ja">' in page.get_data(as_text=True)


def test_revoked_device_cookie_is_refused(client, app):
    device_id, code = new_enrollment(app)
    assert confirm(client, code).status_code == 303
    assert client.get(FORM_URL).status_code == 200
    with app.app_context():
        db.session.get(Device, device_id).revoked_at = utcnow()
        db.session.commit()
    page = client.get(FORM_URL)
    assert page.status_code == 403
    assert "近くの職員にお知らせください" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # landing page, no redirect


def test_a_device_read_before_its_code_was_spent_enrolls_nothing(app):
    """What a second worker sees when another request spent the code after it read the device."""
    _device_id, code = new_enrollment(app)
    with app.app_context():
        device = device_for_enrollment_code(code)
        late = db.session.get(Device, device.id)
        assert complete_enrollment(device) is True
        assert complete_enrollment(late) is False
        assert device_for_enrollment_code(code) is None
