"""The tablet form: rendering, submission, validation, idempotency and kiosk headers."""
import html
import re
import uuid

import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Device, Response
from survey_app.questionnaire import QUESTIONS
from survey_app.timeutil import utcnow

from ..conftest import FACILITY_CODE, OTHER_FACILITY_CODE

FORM_URL = f"/f/{FACILITY_CODE}"
VALID = {"satisfaction": "2", "establishment": "1", "respondent_group": "parenting",
         "services": ["job_search", "seminar"], "comment": "相談員の方が親切でした。"}


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def use_device(client, app, device: dict) -> None:
    """Make the test client an enrolled tablet by giving it the device cookie."""
    client.set_cookie(app.config["DEVICE_COOKIE_NAME"], device["cookie"])


def fresh_form(client, url: str = FORM_URL) -> dict:
    """GET the form and return its hidden fields (CSRF token and client id)."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    text = page.get_data(as_text=True)
    return {"csrf_token": hidden_value(text, "csrf_token"), "client_uuid": hidden_value(text, "client_uuid")}


def submit(client, answers: dict, url: str = FORM_URL, hidden: dict | None = None, **kwargs):
    """Submit answers the way the browser does, with the page's own hidden fields."""
    data = {**(hidden or fresh_form(client, url)), **answers}
    return client.post(url, data=data, **kwargs)


def response_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


@pytest.fixture
def tablet(client, app, device):
    use_device(client, app, device)
    return client


def test_form_renders_every_question_with_furigana_and_csrf(tablet):
    page = tablet.get(FORM_URL)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "川口市 就労支援コーナー" in text
    assert '<html lang="ja">' in text
    positions = [text.index(f'id="q-{question.key}"') for question in QUESTIONS]
    assert positions == sorted(positions), "questions out of order"

    def hidden_readings(markup):
        return markup.replace("<rt>", '<rt aria-hidden="true">')

    for question in QUESTIONS:
        assert hidden_readings(question.ruby) in text
        for choice in question.choices:
            assert hidden_readings(choice.ruby) in text
    assert '<ruby>満足<rt aria-hidden="true">まんぞく</rt></ruby>' in text
    assert "<rt>" not in text, "a reading a screen reader would read after its characters"
    assert text.count('type="radio"') == 4 + 4 + 6
    assert text.count('type="checkbox"') == 7
    assert 'maxlength="1000"' in text
    assert "/ 1000<ruby>文字" in text
    assert hidden_value(text, "csrf_token")
    assert uuid.UUID(hidden_value(text, "client_uuid")).version == 4
    assert 'autocomplete="off"' in text
    assert "<script>" not in text and " style=" not in text  # CSP: no inline script or style


def test_accessible_names_are_the_shown_text_without_readings(tablet):
    text = tablet.get(FORM_URL).get_data(as_text=True)
    # WCAG 2.5.3: the name is what the screen shows, not the stored label (生活保護受給者等).
    assert 'aria-label="生活保護受給者など"' in text
    assert 'aria-label="生活保護受給者等"' not in text
    assert 'aria-label="1 この施設の利用に満足していますか 必須"' in text
    assert 'aria-label="5 ご意見・ご要望（自由に書いてください・任意）"' in text


def test_text_size_is_kept_only_on_the_page_shown_again(tablet, app):
    assert 'name="text_size" value="standard"' in tablet.get(FORM_URL).get_data(as_text=True)
    again = submit(tablet, {"text_size": "large", "satisfaction": "1"})
    assert again.status_code == 422
    assert 'name="text_size" value="large"' in again.get_data(as_text=True)
    odd = submit(tablet, {"text_size": "<b>", "satisfaction": "1"})
    assert 'name="text_size" value="standard"' in odd.get_data(as_text=True)
    assert response_count(app) == 0


def test_each_render_has_a_new_client_uuid(tablet):
    assert fresh_form(tablet)["client_uuid"] != fresh_form(tablet)["client_uuid"]


def test_pages_are_not_cached_and_carry_a_strict_csp(tablet):
    page = tablet.get(FORM_URL)
    assert page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_submit_stores_exactly_one_row_and_redirects_to_thanks(tablet, app, device):
    result = submit(tablet, VALID)
    assert result.status_code == 303
    assert result.headers["Location"] == f"{FORM_URL}/thanks"
    with app.app_context():
        rows = list(db.session.scalars(select(Response)))
        assert len(rows) == 1
        row = rows[0]
        assert (row.satisfaction, row.establishment, row.respondent_group) == (2, 1, "parenting")
        assert row.services == ["job_search", "seminar"]
        assert row.comment == "相談員の方が親切でした。"
        assert row.channel == "tablet" and row.device_id == device["id"]
        assert row.facility.code == FACILITY_CODE
        assert abs((utcnow() - row.submitted_at).total_seconds()) < 60


def test_optional_answers_may_be_left_out(tablet, app):
    result = submit(tablet, {"satisfaction": "4", "establishment": "3"})
    assert result.status_code == 303
    with app.app_context():
        row = db.session.scalar(select(Response))
        assert (row.respondent_group, row.services, row.comment) == (None, [], None)


def test_thanks_page_shows_no_answer_and_returns_to_the_form(tablet, app):
    app.config["KIOSK_THANKS_SECONDS"] = 5
    result = submit(tablet, VALID, follow_redirects=True)
    text = result.get_data(as_text=True)
    assert result.status_code == 200
    assert result.headers["Cache-Control"] == "no-store"
    assert "ありがとうございました" in text
    assert "相談員の方が親切でした" not in text
    assert 'checked' not in text and "まあ満足" not in text
    assert f'content="5;url={FORM_URL}"' in text  # no-JS fallback
    assert f'data-form-url="{FORM_URL}"' in text and 'data-thanks-seconds="5"' in text


@pytest.mark.parametrize("missing, message", [
    ("satisfaction", "この質問は必ず選んでください。"),
    ("establishment", "この質問は必ず選んでください。"),
])
def test_missing_required_answer_rerenders_with_message_and_keeps_answers(tablet, app, missing,
                                                                          message):
    answers = {key: value for key, value in VALID.items() if key != missing}
    result = submit(tablet, answers)
    text = result.get_data(as_text=True)
    assert result.status_code == 422
    assert response_count(app) == 0
    assert 'role="alert"' in text
    error = re.search(rf'<p class="field-error" id="{missing}-error">(.*?)</p>', text, re.S)
    assert error and message in error.group(1)
    assert f'aria-describedby="{missing}-error"' in text
    # The other answers are kept.
    kept = [key for key in ("satisfaction", "establishment") if key != missing]
    for key in kept:
        assert re.search(rf'name="{key}" value="{VALID[key]}"\s+aria-label="[^"]*"\s+checked', text)
    assert re.search(r'value="parenting"\s+aria-label="[^"]*"\s+checked', text)
    assert re.search(r'value="job_search"\s+aria-label="[^"]*"\s+checked', text)
    assert re.search(r'value="seminar"\s+aria-label="[^"]*"\s+checked', text)
    assert ">\n相談員の方が親切でした。</textarea>" in text


@pytest.mark.parametrize("field, value", [
    ("satisfaction", "5"),
    ("satisfaction", "very"),
    ("establishment", "0"),
    ("respondent_group", "ceo"),
    ("services", ["job_search", "golf"]),
])
def test_unknown_choice_is_refused(tablet, app, field, value):
    result = submit(tablet, {**VALID, field: value})
    assert result.status_code == 422
    assert "選択肢の中から選んでください。" in result.get_data(as_text=True)
    assert response_count(app) == 0


def test_comment_longer_than_1000_characters_is_refused(tablet, app):
    result = submit(tablet, {**VALID, "comment": "あ" * 1001})
    text = result.get_data(as_text=True)
    assert result.status_code == 422
    assert "1000文字以内で入力してください（いま1001文字です）。" in text
    assert 'aria-describedby="comment-error comment-counter comment-limit"' in text
    assert response_count(app) == 0


def test_comment_of_exactly_1000_characters_is_stored(tablet, app):
    assert submit(tablet, {**VALID, "comment": "あ" * 1000}).status_code == 303
    assert response_count(app) == 1


def test_script_in_comment_is_stored_as_entered_and_rendered_escaped(tablet, app):
    comment = "<script>alert(1)</script>"
    # An error elsewhere makes the form come back with the comment in it.
    result = submit(tablet, {"comment": comment, "establishment": "1"})
    text = result.get_data(as_text=True)
    assert result.status_code == 422
    assert comment not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert submit(tablet, {**VALID, "comment": comment}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Response.comment)) == comment


def test_double_submit_with_the_same_client_uuid_stores_one_row(tablet, app):
    hidden = fresh_form(tablet)
    first = submit(tablet, VALID, hidden=hidden)
    second = submit(tablet, VALID, hidden=hidden)
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == f"{FORM_URL}/thanks"
    assert response_count(app) == 1


def test_reused_client_uuid_with_other_answers_gets_a_fresh_uuid(tablet, app):
    hidden = fresh_form(tablet)
    assert submit(tablet, VALID, hidden=hidden).status_code == 303
    result = submit(tablet, {**VALID, "satisfaction": "3"}, hidden=hidden)
    text = result.get_data(as_text=True)
    assert result.status_code == 409
    assert "もう一度「送信する」を押してください" in text
    assert hidden_value(text, "client_uuid") != hidden["client_uuid"]
    assert re.search(r'name="satisfaction" value="3"\s+aria-label="[^"]*"\s+checked', text)
    assert response_count(app) == 1
    # Pressing the button again on the re-rendered form stores the new answer.
    retry = {"csrf_token": hidden_value(text, "csrf_token"), "client_uuid": hidden_value(text, "client_uuid")}
    assert submit(tablet, {**VALID, "satisfaction": "3"}, hidden=retry).status_code == 303
    assert response_count(app) == 2


def test_missing_client_uuid_asks_to_send_again(tablet, app):
    hidden = fresh_form(tablet)
    result = submit(tablet, VALID, hidden={"csrf_token": hidden["csrf_token"], "client_uuid": "x"})
    assert result.status_code == 422
    assert uuid.UUID(hidden_value(result.get_data(as_text=True), "client_uuid"))
    assert response_count(app) == 0


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_missing_or_bad_csrf_token_is_refused(tablet, app, token):
    hidden = fresh_form(tablet)
    if token is None:
        del hidden["csrf_token"]
    else:
        hidden["csrf_token"] = token
    result = submit(tablet, VALID, hidden=hidden)
    text = result.get_data(as_text=True)
    assert result.status_code == 400
    assert "もう一度お願いします" in text and '<html lang="ja">' in text
    assert response_count(app) == 0


def test_device_of_another_facility_cannot_post_here(client, app, other_device):
    use_device(client, app, other_device)
    hidden = fresh_form(client, f"/f/{OTHER_FACILITY_CODE}")
    result = submit(client, VALID, hidden=hidden)
    text = result.get_data(as_text=True)
    assert result.status_code == 403
    assert "このタブレットでは回答できません" in text
    assert response_count(app) == 0
    assert client.get(FORM_URL).status_code == 403


def test_unenrolled_browser_sees_a_polite_page(client, app):
    result = client.get(FORM_URL)
    text = result.get_data(as_text=True)
    assert result.status_code == 403
    assert "まだアンケートの回答用に設定されていません" in text
    assert "職員にお知らせください" in text
    assert "Traceback" not in text and 'name="satisfaction"' not in text


def test_unenrolled_post_is_refused_and_stores_nothing(tablet, app):
    hidden = fresh_form(tablet)
    tablet.delete_cookie(app.config["DEVICE_COOKIE_NAME"])
    result = submit(tablet, VALID, hidden=hidden)
    assert result.status_code == 403
    assert "このタブレットでは回答できません" in result.get_data(as_text=True)
    assert response_count(app) == 0


def test_forged_device_cookie_is_refused(client, app, device):
    client.set_cookie(app.config["DEVICE_COOKIE_NAME"], device["cookie"][:-2] + "xx")
    assert client.get(FORM_URL).status_code == 403


def test_revoked_device_is_refused(tablet, app, device):
    hidden = fresh_form(tablet)
    with app.app_context():
        db.session.get(Device, device["id"]).revoked_at = utcnow()
        db.session.commit()
    assert tablet.get(FORM_URL).status_code == 403
    assert submit(tablet, VALID, hidden=hidden).status_code == 403
    assert response_count(app) == 0


def test_unknown_facility_is_a_japanese_404(tablet):
    result = tablet.get("/f/no-such-facility")
    assert result.status_code == 404
    assert "ページが見つかりません" in result.get_data(as_text=True)
    assert tablet.post("/f/no-such-facility", data=VALID).status_code in (400, 404)


def test_rate_limit_refuses_with_429_and_stores_nothing(tablet, app):
    app.config["SURVEY_RATE_LIMIT_PER_MINUTE"] = 2
    hidden = fresh_form(tablet)
    assert submit(tablet, VALID, hidden=hidden).status_code == 303
    assert submit(tablet, VALID).status_code == 303
    result = submit(tablet, VALID)
    assert result.status_code == 429
    assert "少し時間をおいてください" in result.get_data(as_text=True)
    assert result.headers["Retry-After"] == "60"
    assert response_count(app) == 2
    # A re-send of an already stored answer still gets its thank-you.
    assert submit(tablet, VALID, hidden=hidden).status_code == 303
    assert response_count(app) == 2


def test_landing_page_redirects_an_enrolled_tablet_to_its_form(tablet):
    result = tablet.get("/")
    assert result.status_code == 302
    assert result.headers["Location"] == FORM_URL


def test_landing_page_explains_the_service_to_others(client):
    result = client.get("/")
    text = result.get_data(as_text=True)
    assert result.status_code == 200
    assert "アンケート" in text and "/f/" not in text and "<form" not in text
