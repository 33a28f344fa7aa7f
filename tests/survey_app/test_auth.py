"""Login, logout, sessions, lockout and the access helpers the report pages rely on."""
import logging
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from survey_app import audit, create_app
from survey_app.auth import (accessible_facilities, can_see_facility, current_user, facility_or_404,
                             login_required, roles_required)
from survey_app.auth.accounts import create_user
from survey_app.auth.views import INVALID_MESSAGE
from survey_app.extensions import db
from survey_app.prefectures import facility_key
from survey_app.models import AuditEvent, Facility, LoginAttempt, User
from survey_app.timeutil import utcnow
from tests.conftest import FACILITY_CODE, OTHER_FACILITY_CODE

PASSWORD = "kawaguchi-2012-secret"
LOCKED_TEXT = "一時的に停止しています"
IDLE_TEXT = "一定時間操作がなかったため、ログアウトしました"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(response) -> str:
    """Return the CSRF token of the first form in a page."""
    match = CSRF_PATTERN.search(response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def make_user(app, username, role="manager", password=PASSWORD, facilities=(FACILITY_CODE,)):
    """Create a user straight in the database; return its id."""
    with app.app_context():
        user = create_user(username, role, password, list(facilities) if role == "manager" else [])
        db.session.commit()
        return user.id


def get_user(app, username) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def login(client, username, password=PASSWORD, next_url=None, **kwargs):
    """Log in through the form (with its CSRF token); return the POST response."""
    page = client.get("/auth/login", **kwargs)
    data = {"username": username, "password": password, "csrf_token": csrf_token(page)}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/auth/login", data=data, **kwargs)


def logout(client):
    """Log out through the header form of a logged-in page."""
    page = client.get("/auth/password")
    assert page.status_code == 200
    return client.post("/auth/logout", data={"csrf_token": csrf_token(page)})


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


@pytest.fixture
def manager(app):
    make_user(app, "kawaguchi-manager")
    return "kawaguchi-manager"


# ---------------------------------------------------------------------------- login

def test_login_page_is_japanese_and_has_a_csrf_token(client):
    response = client.get("/auth/login")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ログイン" in text and "ユーザー名" in text and "パスワード" in text
    assert csrf_token(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_login_succeeds_and_goes_to_the_reports(app, client, manager):
    response = login(client, manager)
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/"
    with client.session_transaction() as session:
        assert session["auth_user_id"] == get_user(app, manager).id
        assert session["auth_version"] == get_user(app, manager).session_version
        assert {"auth_login_at", "auth_last_seen"} <= set(session)
    assert client.get("/auth/password").status_code == 200
    assert get_user(app, manager).last_login_at is not None


def test_username_is_case_and_space_insensitive(client, manager):
    assert login(client, "  Kawaguchi-Manager ").headers["Location"] == "/reports/"


@pytest.mark.parametrize("next_url, expected", [
    ("/reports/f/kawaguchi?year=2012", "/reports/f/kawaguchi?year=2012"),
    ("/admin/audit", "/admin/audit"),
    ("https://evil.example/", "/reports/"),
    ("//evil.example/", "/reports/"),
    ("/\\evil.example/", "/reports/"),
    ("\\\\evil.example", "/reports/"),
    ("javascript:alert(1)", "/reports/"),
    ("/reports/\r\nSet-Cookie: x=1", "/reports/"),
    ("reports/", "/reports/"),
    ("", "/reports/"),
])
def test_next_is_followed_only_within_the_site(client, manager, next_url, expected):
    response = login(client, manager, next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_next_from_the_query_string_is_kept_in_the_form(client, manager):
    page = client.get("/auth/login?next=/reports/f/x%3Fyear%3D2012")
    assert 'value="/reports/f/x?year=2012"' in page.get_data(as_text=True)
    page = client.get("/auth/login?next=https://evil.example/")
    assert "evil.example" not in page.get_data(as_text=True)


def test_wrong_password_is_refused_with_a_japanese_message(app, client, manager):
    response = login(client, manager, "wrong-password-123")
    assert response.status_code == 200
    assert INVALID_MESSAGE in response.get_data(as_text=True)
    assert is_login_redirect(client.get("/auth/password"))
    assert get_user(app, manager).failed_logins == 1


def test_unknown_user_gets_the_same_message_and_the_same_hashing_work(client, manager, monkeypatch):
    from survey_app.auth import passwords

    calls = []
    real_check = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash",
                        lambda hashed, password: calls.append(hashed) or real_check(hashed, password))
    known = login(client, manager, "wrong-password-123").get_data(as_text=True)
    unknown = login(client, "nobody-here", "wrong-password-123").get_data(as_text=True)
    assert INVALID_MESSAGE in known and INVALID_MESSAGE in unknown
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731  (tokens and usernames differ)
    assert strip(known).replace(manager, "") == strip(unknown).replace("nobody-here", "")
    assert len(calls) == 2 and all(h.startswith("scrypt:") for h in calls)


def test_empty_fields_are_asked_for_without_counting_a_failure(app, client, manager):
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"username": manager, "password": "",
                                                "csrf_token": csrf_token(page)})
    assert "パスワードを入力してください" in response.get_data(as_text=True)
    assert get_user(app, manager).failed_logins == 0


# ---------------------------------------------------------------------------- lockout

def test_five_failures_lock_the_username_even_for_the_right_password(app, client, manager):
    for attempt in range(4):
        assert INVALID_MESSAGE in login(client, manager, f"wrong-password-{attempt}").get_data(as_text=True)
    fifth = login(client, manager, "wrong-password-5").get_data(as_text=True)
    assert LOCKED_TEXT in fifth and "15分" in fifth
    user = get_user(app, manager)
    assert timedelta(minutes=14) < user.locked_until - utcnow() <= timedelta(minutes=15)
    right = login(client, manager)
    assert right.status_code == 200 and LOCKED_TEXT in right.get_data(as_text=True)
    assert is_login_redirect(client.get("/auth/password"))
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("auth.login_failed") == 4 and actions.count("auth.locked") == 1


def test_the_lock_ends_after_its_time(app, client, manager):
    for attempt in range(5):
        login(client, manager, f"wrong-password-{attempt}")
    assert LOCKED_TEXT in login(client, manager).get_data(as_text=True)
    with app.app_context():  # 15 minutes pass
        user = db.session.scalar(select(User).where(User.username == manager))
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(client, manager).headers["Location"] == "/reports/"
    user = get_user(app, manager)
    assert user.failed_logins == 0 and user.locked_until is None


def test_unknown_usernames_lock_the_same_way(client, manager):
    for attempt in range(4):
        assert INVALID_MESSAGE in login(client, "ghost", f"wrong-password-{attempt}").get_data(as_text=True)
    assert LOCKED_TEXT in login(client, "ghost", "wrong-password-5").get_data(as_text=True)
    assert LOCKED_TEXT in login(client, "ghost", "wrong-password-6").get_data(as_text=True)


def test_too_many_failures_from_one_address_get_429(app, client, manager):
    app.config["LOGIN_IP_MAX_FAILURES"] = 3
    attacker = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    for name in ("alice", "bob", "carol"):  # different usernames: no per-user lock applies
        assert login(client, name, "wrong-password-1", **attacker).status_code == 200
    blocked = login(client, manager, **attacker)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "しばらく待って" in blocked.get_data(as_text=True)
    assert is_login_redirect(client.get("/auth/password", **attacker))
    # Someone else is not affected.
    other = login(app.test_client(), manager, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.headers["Location"] == "/reports/"


def test_address_failures_are_counted_in_the_database_for_every_worker(app, manager):
    # Two apps on one database stand for two gunicorn workers.
    app.config["LOGIN_IP_MAX_FAILURES"] = 4
    other_worker = create_app({**app.config})
    attacker = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    for index, worker in enumerate((app, other_worker, app, other_worker)):
        assert login(worker.test_client(), f"guess-{index}", "wrong-password-1", **attacker).status_code == 200
    assert login(app.test_client(), manager, **attacker).status_code == 429
    assert login(other_worker.test_client(), manager, **attacker).status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 4
    with other_worker.app_context():
        db.engine.dispose()


def test_expired_attempts_no_longer_count_and_are_deleted(app, client, manager):
    app.config["LOGIN_IP_MAX_FAILURES"] = 2
    attacker = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    old = utcnow() - timedelta(minutes=app.config["LOGIN_IP_WINDOW_MINUTES"], seconds=1)
    with app.app_context():
        db.session.add_all([LoginAttempt(address=address, attempted_at=old)
                            for address in ("203.0.113.9", "203.0.113.9", "198.51.100.7")])
        db.session.commit()
    assert login(client, "guess-1", "wrong-password-1", **attacker).status_code == 200
    with app.app_context():  # every address's expired rows are gone; the new failure is kept
        assert db.session.scalars(select(LoginAttempt.address)).all() == ["203.0.113.9"]
    assert login(client, "guess-2", "wrong-password-1", **attacker).status_code == 200
    assert login(client, "guess-3", "wrong-password-1", **attacker).status_code == 429


def test_successful_logins_do_not_count_against_the_address(app, manager):
    app.config["LOGIN_IP_MAX_FAILURES"] = 2
    colleagues = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}  # one office, one address
    for _ in range(3):
        assert login(app.test_client(), manager, **colleagues).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_login_limits_have_the_documented_defaults(app):
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    assert app.config["LOGIN_LOCK_MINUTES"] == 15
    assert app.config["LOGIN_IP_MAX_FAILURES"] == 20
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12


def test_disabled_users_cannot_log_in_and_their_sessions_end(app, client, manager):
    assert login(client, manager).status_code == 302
    with app.app_context():
        from survey_app.auth.accounts import disable_user

        disable_user(db.session.scalar(select(User).where(User.username == manager)))
        db.session.commit()
    assert is_login_redirect(client.get("/auth/password"))
    response = login(client, manager)
    assert response.status_code == 200 and INVALID_MESSAGE in response.get_data(as_text=True)


# ---------------------------------------------------------------------------- logout and sessions

def test_logout_needs_post_and_a_csrf_token(client, manager):
    login(client, manager)
    assert client.get("/auth/logout").status_code == 405
    refused = client.post("/auth/logout")
    assert refused.status_code == 400
    assert "もう一度お試しください" in refused.get_data(as_text=True)
    assert client.get("/auth/password").status_code == 200  # still logged in


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_fails(app, client, manager):
    login(client, manager)
    old_cookie = client.get_cookie("session").value
    version = get_user(app, manager).session_version
    response = logout(client)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert "ログアウトしました" in client.get("/auth/login").get_data(as_text=True)
    assert get_user(app, manager).session_version == version + 1
    client.set_cookie("session", old_cookie)
    assert is_login_redirect(client.get("/auth/password"))


def test_password_change_keeps_this_session_and_ends_the_others(app, client, manager):
    other_browser = app.test_client()
    login(client, manager)
    login(other_browser, manager)
    page = client.get("/auth/password")
    response = client.post("/auth/password", data={
        "csrf_token": csrf_token(page), "current_password": PASSWORD,
        "new_password": "a-new-long-password", "confirm": "a-new-long-password"})
    assert response.status_code == 302
    assert "パスワードを変更しました" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert is_login_redirect(other_browser.get("/auth/password"))
    assert login(app.test_client(), manager, "a-new-long-password").status_code == 302


def test_password_change_needs_the_current_password(client, manager):
    login(client, manager)
    page = client.get("/auth/password")
    response = client.post("/auth/password", data={
        "csrf_token": csrf_token(page), "current_password": "not-the-password",
        "new_password": "a-new-long-password", "confirm": "a-new-long-password"})
    assert "今のパスワードが正しくありません" in response.get_data(as_text=True)


def test_idle_session_expires_with_a_message(client, manager):
    login(client, manager)
    with client.session_transaction() as session:
        session["auth_last_seen"] -= 31 * 60
        session["auth_login_at"] -= 31 * 60
    response = client.get("/auth/password?tab=1")
    assert is_login_redirect(response)
    assert "next=/auth/password%3Ftab%3D1" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert IDLE_TEXT in page.get_data(as_text=True)
    assert is_login_redirect(client.get("/auth/password"))


def test_activity_keeps_the_session_alive(client, manager):
    login(client, manager)
    with client.session_transaction() as session:
        session["auth_last_seen"] -= 29 * 60
        before = session["auth_last_seen"]
    assert client.get("/auth/password").status_code == 200
    with client.session_transaction() as session:
        assert session["auth_last_seen"] > before + 28 * 60


def test_sessions_end_after_twelve_hours_even_when_active(client, manager):
    login(client, manager)
    with client.session_transaction() as session:
        session["auth_login_at"] -= 12 * 3600 + 1
    response = client.get("/auth/password")
    assert is_login_redirect(response)
    assert "ログアウトしました" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_idle_timeout_follows_the_setting(app, client, manager):
    app.config["SESSION_IDLE_MINUTES"] = 5
    login(client, manager)
    with client.session_transaction() as session:
        session["auth_last_seen"] -= 6 * 60
    assert is_login_redirect(client.get("/auth/password"))


def test_a_tampered_session_cookie_is_not_accepted(app, client, manager):
    make_user(app, "analyst", role="analyst")
    login(client, manager)
    cookie = client.get_cookie("session").value
    client.set_cookie("session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert is_login_redirect(client.get("/auth/password"))


# ---------------------------------------------------------------------------- CSRF and cookies

def test_login_needs_a_csrf_token(app, client, manager):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    response = client.post("/auth/login", data={"username": manager, "password": PASSWORD})
    assert response.status_code == 400
    assert is_login_redirect(client.get("/auth/password"))
    forged = client.post("/auth/login", data={"username": manager, "password": PASSWORD,
                                              "csrf_token": "forged-token"})
    assert forged.status_code == 400


def test_session_cookie_is_httponly_lax_and_secure_over_https(app, manager):
    plain = login(app.test_client(), manager).headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    # Over HTTPS Flask-WTF also checks the Referer, as a browser sends it.
    secure = login(app.test_client(), manager, base_url="https://localhost",
                   headers={"Referer": "https://localhost/auth/login"}).headers["Set-Cookie"]
    assert "HttpOnly" in secure and "SameSite=Lax" in secure and "Secure" in secure


def test_session_cookie_secure_setting_forces_secure(app, manager):
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    page = client.get("/auth/login")
    assert "Secure" in page.headers["Set-Cookie"]


def test_secure_cookie_setting_comes_from_the_environment(monkeypatch, tmp_path):
    from survey_app import create_app

    monkeypatch.setenv("SURVEY_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "env-secret")
    assert create_app().config["SESSION_COOKIE_SECURE"] is True


# ---------------------------------------------------------------------------- secrets

def test_passwords_are_stored_as_scrypt_hashes_and_never_logged(app, client, runner, manager, caplog):
    caplog.set_level(logging.DEBUG)
    user = get_user(app, manager)
    assert user.password_hash != PASSWORD and user.password_hash.startswith("scrypt:")
    login(client, manager, "wrong-but-secret-1")
    login(client, "ghost", "ghost-secret-2")
    login(client, manager)
    logout(client)
    runner.invoke(args=["users", "create", "cli-user", "--role", "analyst", "--password-stdin"],
                  input="cli-secret-password-3\n")
    for secret in (PASSWORD, "wrong-but-secret-1", "ghost-secret-2", "cli-secret-password-3"):
        assert secret not in caplog.text
    with app.app_context():
        targets = " ".join(db.session.scalars(select(AuditEvent.target)))
    assert "secret" not in targets and "ghost" not in targets


# ---------------------------------------------------------------------------- access helpers

@pytest.fixture
def probe(app):
    """Add small views guarded by the helpers, the way the report pages use them."""

    @app.get("/probe/me")
    @login_required
    def probe_me():
        return {"id": current_user.id, "username": current_user.username,
                "role": current_user.role, "is_admin": current_user.is_admin,
                "facilities": [f.code for f in accessible_facilities()]}

    @app.get("/probe/admin")
    @roles_required("admin")
    def probe_admin():
        return "admin only"

    @app.get("/probe/facility/<code>")
    @login_required
    def probe_facility(code):
        facility = facility_or_404(code)
        audit.record("report.view", facility.code)
        return facility.code

    return app


def test_login_required_redirects_with_next(probe, client):
    response = client.get("/probe/me?year=2012")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/probe/me%3Fyear%3D2012"


def test_current_user_exposes_role_username_id_and_is_admin(probe, client, manager):
    login(client, manager)
    me = client.get("/probe/me").get_json()
    assert me["username"] == manager and me["role"] == "manager" and me["is_admin"] is False
    assert me["facilities"] == [FACILITY_CODE]


def test_manager_sees_only_assigned_facilities(probe, client, manager):
    login(client, manager)
    assert client.get(f"/probe/facility/{FACILITY_CODE}").status_code == 200
    other = client.get(f"/probe/facility/{OTHER_FACILITY_CODE}")
    missing = client.get("/probe/facility/no-such-facility")
    assert other.status_code == missing.status_code == 404
    assert other.get_data() == missing.get_data()  # nothing tells the two apart


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_admins_and_analysts_see_every_facility_in_order(app, probe, client, role):
    make_user(app, f"all-{role}", role=role)
    login(client, f"all-{role}")
    codes = client.get("/probe/me").get_json()["facilities"]
    with app.app_context():
        expected = [f.code for f in sorted(db.session.scalars(select(Facility)), key=facility_key)]
    assert codes == expected and len(codes) > 50
    assert client.get(f"/probe/facility/{OTHER_FACILITY_CODE}").status_code == 200
    assert client.get("/probe/facility/no-such-facility").status_code == 404


def test_can_see_facility_and_accessible_facilities_take_a_user(app):
    make_user(app, "two-sites", facilities=(FACILITY_CODE, OTHER_FACILITY_CODE))
    make_user(app, "reader", role="analyst")
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.username == "two-sites"))
        analyst = db.session.scalar(select(User).where(User.username == "reader"))
        by_code = {f.code: f for f in db.session.scalars(select(Facility))}
        kawaguchi, aomori = by_code.pop(FACILITY_CODE), by_code.pop(OTHER_FACILITY_CODE)
        third = next(iter(by_code.values()))
        assert {f.code for f in accessible_facilities(manager)} == {FACILITY_CODE, OTHER_FACILITY_CODE}
        assert can_see_facility(manager, kawaguchi) and can_see_facility(manager, aomori)
        assert not can_see_facility(manager, third)
        assert can_see_facility(analyst, third)
        assert not can_see_facility(None, kawaguchi)
        manager.disabled_at = utcnow()
        assert accessible_facilities(manager) == [] and not can_see_facility(manager, kawaguchi)


def test_anonymous_has_no_facilities(app):
    with app.test_request_context("/"):
        g.user = None
        assert accessible_facilities() == []
        assert current_user.is_authenticated is False and current_user.is_admin is False


def test_roles_required_gives_a_japanese_403(app, probe, client, manager):
    assert is_login_redirect(client.get("/probe/admin"))
    login(client, manager)
    response = client.get("/probe/admin")
    assert response.status_code == 403
    assert "権限がありません" in response.get_data(as_text=True)


def test_roles_required_rejects_unknown_roles():
    with pytest.raises(ValueError):
        roles_required("superuser")


def test_role_change_ends_the_users_sessions(app, probe, client, manager):
    login(client, manager)
    with app.app_context():
        from survey_app.auth.accounts import set_role_and_facilities

        user = db.session.scalar(select(User).where(User.username == manager))
        set_role_and_facilities(user, "manager", [OTHER_FACILITY_CODE])
        db.session.commit()
    assert is_login_redirect(client.get("/probe/me"))


# ---------------------------------------------------------------------------- audit

def test_record_stores_the_current_user_and_rejects_free_text(app, probe, client, manager):
    login(client, manager)
    assert client.get(f"/probe/facility/{FACILITY_CODE}").status_code == 200
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["auth.login", "report.view"]
        assert events[-1].target == FACILITY_CODE
        manager_id = db.session.scalar(select(User.id).where(User.username == manager))
        assert events[-1].user_id == manager_id
        with pytest.raises(ValueError):
            audit.record("窓口の対応がとても良かった")
        assert audit.record("report.export", "x" * 500 + "\n").target == "x" * 200
        assert audit.record("report.view").user_id is None  # outside a request: nobody
