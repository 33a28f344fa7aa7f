"""Password rules (NIST SP 800-63B style) on every path that sets a password; NFKC throughout."""
import secrets
from importlib.resources import files

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from survey_app.auth.passwords import (MIN_PASSWORD_LENGTH, PasswordPolicyError,
                                       check_password_policy, common_passwords)
from survey_app.extensions import db
from survey_app.models import User
from tests.survey_app.reports_fixtures import PASSWORD as REPORTS_PASSWORD
from tests.survey_app.test_admin import NEW_PASSWORD, post_form, user_id
from tests.survey_app.test_auth import PASSWORD, csrf_token, get_user, login, make_user
from tests.survey_app.test_targets import PASSWORD as TARGETS_PASSWORD
from tests.survey_app.test_users_cli import users_cli

COMMON = "よく使われているパスワード（数字や記号を付け足しただけのものを含む）は、推測されやすいため使えません。"
USERNAME = "パスワードにユーザー名を含めないでください。"
PATTERN = "キーボードの並び（qwerty など）や連続した文字（abcd、1234 など）"
SHORT = f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。"


@pytest.mark.parametrize("password, username, message", [
    ("password12", "someone", COMMON),
    ("managera12", "managera", USERNAME),
    ("password1234", "someone", COMMON),
    ("Password2024!", "someone", COMMON),
    ("p@ssw0rd2024", "someone", COMMON),            # leetspeak
    ("ｐａｓｓｗｏｒｄ１２３４", "someone", COMMON),   # full width: NFKC makes it password1234
    ("iloveyou123456", "someone", COMMON),
    ("Welcome2025!!", "someone", COMMON),
    ("doraemon2012", "someone", COMMON),
    ("hellowork2024", "someone", COMMON),            # the service's own words
    ("monkey-1234567", "someone", COMMON),
    ("managera1234", "managera", USERNAME),
    ("2012-ManagerA-kawaguchi", "managera", USERNAME),  # anywhere, any case
    ("ｍａｎａｇｅｒａ-kawaguchi", "managera", USERNAME),  # full width
    ("qwertyuiopasdf", "someone", PATTERN),
    ("1q2w3e4r5t6y", "someone", PATTERN),
    ("abcdefghijkl", "someone", PATTERN),
    ("123456789012", "someone", PATTERN),
    ("987654321098", "someone", PATTERN),
    ("passwordpassword", "someone", PATTERN),
    ("sakura-sakura!", "someone", PATTERN),
    ("aaaaaaaaaaaa", "someone", "4種類以上の文字"),
    ("short-pw1", "someone", SHORT),
    ("ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞ", "someone", SHORT),     # 12 half-width code points, 6 after NFKC
    ("\u3000leading-ideographic-space", "someone", "最初と最後に空白"),
    ("x7" * 65, "someone", "128文字以内"),
])
def test_weak_passwords_are_refused_with_a_japanese_message(password, username, message):
    with pytest.raises(PasswordPolicyError) as raised:
        check_password_policy(password, username)
    assert message in raised.value.ja
    assert password not in str(raised.value) and password not in raised.value.ja


@pytest.mark.parametrize("password", [
    PASSWORD, NEW_PASSWORD, REPORTS_PASSWORD, TARGETS_PASSWORD,   # the test fixtures'
    "a-new-long-password", "another-password-9", "cli-secret-password-3",
    "相談窓口は月曜から開いています",                                # a Japanese passphrase
    "hirogaru-sora-ni-2012", "Tr0mbone-Kawa-Seven",
])
def test_good_passwords_are_accepted(password):
    check_password_policy(password, "managera")


def test_demo_passwords_always_pass():
    """`users demo` makes secrets.token_urlsafe(12) passwords: none may ever be refused."""
    for _ in range(500):
        check_password_policy(secrets.token_urlsafe(12), "demo-manager")


def test_common_password_list_is_shipped_package_data():
    listed = common_passwords()
    assert len(listed) > 2500
    assert {"password", "123456", "qwerty", "iloveyou", "sakura", "hellowork"} <= listed
    assert all(entry == entry.lower().strip() for entry in listed)
    assert files("survey_app").joinpath("data/common_passwords.txt").is_file()


# ------------------------------------------------------------- every place a password is set

def _change_own_password(app, password):
    make_user(app, "managera")
    client = app.test_client()
    login(client, "managera")
    page = client.get("/auth/password")
    return client.post("/auth/password", data={
        "csrf_token": csrf_token(page), "current_password": PASSWORD,
        "new_password": password, "confirm": password})


def _admin_client(app):
    make_user(app, "chief", role="admin")
    client = app.test_client()
    assert login(client, "chief").status_code == 302
    return client


def _admin_creates(app, password):
    return post_form(_admin_client(app), "/admin/users/new", {
        "username": "managera", "role": "analyst", "new_password": password, "confirm": password})


def _admin_resets(app, password):
    client = _admin_client(app)
    make_user(app, "managera")
    url = f"/admin/users/{user_id(app, 'managera')}"
    return post_form(client, url + "/password", {"new_password": password, "confirm": password},
                     page_url=url)


WEB_FORMS = {"own password change": _change_own_password, "admin creates a user": _admin_creates,
             "admin resets a password": _admin_resets}
REFUSED = [("password12", COMMON), ("managera12", USERNAME), ("password1234", COMMON),
           ("ｍａｎａｇｅｒａ-2012-x", USERNAME)]


def _stored_passwords_work(app) -> bool:
    """Whether managera (when it exists) still logs in with the password it had."""
    with app.app_context():
        exists = db.session.scalar(select(User).where(User.username == "managera")) is not None
    return not exists or login(app.test_client(), "managera").status_code == 302


@pytest.mark.parametrize("password, message", REFUSED)
@pytest.mark.parametrize("form", WEB_FORMS)
def test_web_forms_refuse_weak_passwords_and_store_nothing(app, form, password, message):
    response = WEB_FORMS[form](app, password)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert message in text
    assert "12文字以上にしてください。" in text  # the rules stand next to the field
    assert _stored_passwords_work(app)
    assert login(app.test_client(), "managera", password).status_code != 302


@pytest.mark.parametrize("form", WEB_FORMS)
def test_web_forms_accept_a_good_password(app, form):
    response = WEB_FORMS[form](app, "hirogaru-sora-ni-2012")
    assert response.status_code == 302
    assert login(app.test_client(), "managera", "hirogaru-sora-ni-2012").status_code == 302


CLI_MESSAGES = {COMMON: "too common", USERNAME: "must not contain the username"}


@pytest.mark.parametrize("password, message", REFUSED)
@pytest.mark.parametrize("command", ["create", "set-password"])
def test_cli_refuses_weak_passwords_and_stores_nothing(app, runner, command, password, message):
    if command == "create":
        result = users_cli(runner, "create", "managera", "--role", "analyst", "--password-stdin",
                           password=password + "\n")
    else:
        make_user(app, "managera")
        result = users_cli(runner, "set-password", "managera", "--password-stdin",
                           password=password + "\n")
    assert result.exit_code != 0
    assert CLI_MESSAGES[message] in result.output
    assert password not in result.output
    assert _stored_passwords_work(app)
    assert login(app.test_client(), "managera", password).status_code != 302


# ------------------------------------------------------------------------------ NFKC

@pytest.mark.parametrize("set_as, typed_as", [
    ("ｈｉｒｏｇａｒｕ－ｓｏｒａ２０１２", "hirogaru-sora2012"),   # full width set, half width typed
    ("hirogaru-sora2012", "ｈｉｒｏｇａｒｕ－ｓｏｒａ２０１２"),
    ("ﾊﾟｽﾎﾟｰﾄを窓口で見せる", "パスポートを窓口で見せる"),          # half-width kana
    ("ハ\u309aスホ\u309aートを窓口で見せる", "パスポートを窓口で見せる"),  # combining handakuten
])
def test_passwords_are_nfkc_normalised_before_hashing(app, runner, set_as, typed_as):
    result = users_cli(runner, "create", "managera", "--role", "analyst", "--password-stdin",
                       password=set_as + "\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "managera", typed_as).status_code == 302
    assert login(app.test_client(), "managera", set_as).status_code == 302
    assert set_as not in get_user(app, "managera").password_hash


def test_a_hash_made_before_normalisation_still_logs_in(app):
    """Passwords set as typed (full width) by an older version keep working."""
    make_user(app, "managera")
    typed = "ｈｉｒｏｇａｒｕ－ｓｏｒａ２０１２"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "managera"))
        user.password_hash = generate_password_hash(typed, method="scrypt")
        db.session.commit()
    assert login(app.test_client(), "managera", typed).status_code == 302
