"""Admin pages: only admins get in; users are created and changed with CSRF; the audit log."""
import uuid

import pytest
from sqlalchemy import select

from survey_app import audit
from survey_app.extensions import db
from survey_app.models import AuditEvent, Facility, Response, User
from survey_app.timeutil import utcnow
from tests.conftest import FACILITY_CODE, OTHER_FACILITY_CODE
from tests.survey_app.test_auth import (PASSWORD, csrf_token, get_user, is_login_redirect, login,
                                        make_user)

NEW_PASSWORD = "welcome-to-aomori-2012"
ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/users/new", "/admin/users/1", "/admin/audit",
               "/admin/audit.csv", "/admin/devices"]


@pytest.fixture
def admin_client(app):
    make_user(app, "chief", role="admin")
    client = app.test_client()
    assert login(client, "chief").status_code == 302
    return client


def post_form(client, url, data, page_url=None):
    """Post a form with the CSRF token of the page it is on."""
    page = client.get(page_url or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page)})


def user_id(app, username) -> int:
    return get_user(app, username).id


# ---------------------------------------------------------------------------- access

@pytest.mark.parametrize("role", ["manager", "analyst"])
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_are_forbidden_to_managers_and_analysts(app, client, role, url):
    make_user(app, "someone", role=role)
    login(client, "someone")
    response = client.get(url)
    assert response.status_code == 403
    assert "権限がありません" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_send_anonymous_visitors_to_login(client, url):
    assert is_login_redirect(client.get(url))


def test_every_admin_route_is_protected(app, client):
    make_user(app, "someone")
    login(client, "someone")
    token = csrf_token(client.get("/auth/password"))
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert len(rules) >= 8
    for rule in rules:
        url = rule.build({argument: 1 for argument in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (method, url)


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_work_for_admins(admin_client, url):
    response = admin_client.get(url, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------------------- users

def test_admin_creates_a_manager_who_can_then_log_in(app, admin_client):
    response = post_form(admin_client, "/admin/users/new", {
        "username": "aomori-lead", "role": "manager", "facilities": [OTHER_FACILITY_CODE],
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ユーザー「aomori-lead」を作成しました" in page
    user = get_user(app, "aomori-lead")
    assert user.role == "manager" and user.password_hash.startswith("scrypt:")
    with app.app_context():
        user = db.session.get(User, user.id)
        assert [f.code for f in user.facilities] == [OTHER_FACILITY_CODE]
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.target) == ("admin.user_created", "aomori-lead")
    assert login(app.test_client(), "aomori-lead", NEW_PASSWORD).headers["Location"] == "/reports/"
    assert "aomori-lead" in admin_client.get("/admin/users").get_data(as_text=True)


def test_facilities_are_ignored_for_analysts(app, admin_client):
    response = post_form(admin_client, "/admin/users/new", {
        "username": "reader", "role": "analyst", "facilities": [FACILITY_CODE],
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "reader")).facilities == []


@pytest.mark.parametrize("data, message", [
    ({"username": "lead", "role": "manager"}, "担当する施設を1つ以上選んでください"),
    ({"username": "lead", "role": "manager", "facilities": ["no-such-place"]}, "選べない施設が含まれています"),
    ({"username": "chief", "role": "analyst"}, "すでに使われています"),
    ({"username": "a b", "role": "analyst"}, "半角英小文字"),
    ({"username": "lead", "role": "analyst", "new_password": "short"}, "12文字以上"),
    ({"username": "lead", "role": "analyst", "confirm": "different-password"}, "一致しません"),
    ({"username": "lead", "role": "owner"}, "役割を選んでください"),
])
def test_create_form_validates(app, admin_client, data, message):
    data = {"new_password": NEW_PASSWORD, "confirm": data.get("new_password", NEW_PASSWORD), **data}
    response = post_form(admin_client, "/admin/users/new", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["chief"]


def test_create_needs_a_csrf_token(app, admin_client):
    response = admin_client.post("/admin/users/new", data={
        "username": "lead", "role": "analyst", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "lead")) is None


def test_changing_role_and_facilities_ends_the_users_sessions(app, admin_client):
    make_user(app, "lead")
    lead = app.test_client()
    login(lead, "lead")
    url = f"/admin/users/{user_id(app, 'lead')}"
    response = post_form(admin_client, url, {"role": "manager",
                                             "facilities": [FACILITY_CODE, OTHER_FACILITY_CODE]})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "lead"))
        assert sorted(f.code for f in user.facilities) == sorted([FACILITY_CODE, OTHER_FACILITY_CODE])
    assert is_login_redirect(lead.get("/auth/password"))
    post_form(admin_client, url, {"role": "analyst"})
    assert get_user(app, "lead").role == "analyst"


def test_admins_cannot_change_their_own_role_or_disable_themselves(app, admin_client):
    url = f"/admin/users/{user_id(app, 'chief')}"
    response = post_form(admin_client, url, {"role": "analyst"})
    assert "自分自身の役割は変更できません" in response.get_data(as_text=True)
    post_form(admin_client, url + "/disable", {}, page_url=url)
    chief = get_user(app, "chief")
    assert chief.role == "admin" and chief.disabled_at is None


def test_disable_ends_sessions_and_enable_restores_login(app, admin_client):
    make_user(app, "lead")
    lead = app.test_client()
    login(lead, "lead")
    url = f"/admin/users/{user_id(app, 'lead')}"
    assert post_form(admin_client, url + "/disable", {}, page_url=url).status_code == 302
    assert get_user(app, "lead").disabled_at is not None
    assert is_login_redirect(lead.get("/auth/password"))
    assert login(app.test_client(), "lead").status_code == 200
    assert "停止中" in admin_client.get("/admin/users").get_data(as_text=True)
    post_form(admin_client, url + "/enable", {}, page_url=url)
    assert login(app.test_client(), "lead").status_code == 302


def test_password_reset_replaces_the_password_and_lifts_a_lock(app, admin_client):
    make_user(app, "lead")
    for attempt in range(5):
        login(app.test_client(), "lead", f"wrong-password-{attempt}")
    url = f"/admin/users/{user_id(app, 'lead')}"
    assert "ログイン停止中" in admin_client.get(url).get_data(as_text=True)
    response = post_form(admin_client, url + "/password",
                         {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page_url=url)
    assert response.status_code == 302
    assert login(app.test_client(), "lead", PASSWORD).status_code == 200
    assert login(app.test_client(), "lead", NEW_PASSWORD).status_code == 302


def test_password_reset_checks_the_rules(app, admin_client):
    make_user(app, "lead")
    url = f"/admin/users/{user_id(app, 'lead')}"
    response = post_form(admin_client, url + "/password", {"new_password": "lead", "confirm": "lead"},
                         page_url=url)
    assert "パスワードにユーザー名を含めないでください。" in response.get_data(as_text=True)
    assert login(app.test_client(), "lead").status_code == 302


def test_unlock_button_lifts_a_lock(app, admin_client):
    make_user(app, "lead")
    for attempt in range(5):
        login(app.test_client(), "lead", f"wrong-password-{attempt}")
    url = f"/admin/users/{user_id(app, 'lead')}"
    post_form(admin_client, url + "/unlock", {}, page_url=url)
    assert get_user(app, "lead").locked_until is None
    assert login(app.test_client(), "lead").status_code == 302


def test_unknown_user_id_is_404(admin_client):
    assert admin_client.get("/admin/users/9999").status_code == 404


# ---------------------------------------------------------------------------- audit log

def test_audit_page_lists_events_without_comment_text(app, admin_client):
    comment = "山田太郎です。電話は090-1234-5678、相談員の方がとても親切でした。"
    with app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
        db.session.add(Response(client_uuid=str(uuid.uuid4()), facility_id=facility.id, form_version=1,
                                channel="tablet", submitted_at=utcnow(), fiscal_year=2012,
                                satisfaction=1, establishment=1, comment=comment, content_hash="0" * 64))
        db.session.commit()
        chief_id = db.session.scalar(select(User.id).where(User.username == "chief"))
        audit.store("report.view", FACILITY_CODE, user_id=chief_id)
        audit.store("report.export", f"{FACILITY_CODE} 2012 csv", user_id=chief_id)
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "操作記録" in page
    assert "レポート閲覧" in page and "レポート出力" in page and "ログイン" in page
    assert f"{FACILITY_CODE} 2012 csv" in page and "chief" in page
    assert "山田" not in page and "090-1234-5678" not in page and "親切" not in page
    with app.app_context():
        stored = " ".join(e.target + e.action for e in db.session.scalars(select(AuditEvent)))
    assert "山田" not in stored


def test_audit_page_is_paginated_newest_first(app, admin_client):
    with app.app_context():
        for number in range(60):
            audit.store("report.view", f"facility-{number:02d}")
    first = admin_client.get("/admin/audit").get_data(as_text=True)
    second = admin_client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "facility-59" in first and "facility-10" in first and "facility-09" not in first
    assert "facility-09" in second and "facility-00" in second and "facility-59" not in second
    assert "次のページ" in first and "前のページ" in second
    assert admin_client.get("/admin/audit?page=99").status_code == 200
