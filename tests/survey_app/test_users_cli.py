"""`flask users ...`: creating users with validation, passwords, disabling, and the demo users."""
import pytest
from sqlalchemy import select

from survey_app.auth.cli import create_demo_users
from survey_app.extensions import db
from survey_app.models import AuditEvent, User
from tests.conftest import FACILITY_CODE, OTHER_FACILITY_CODE
from tests.survey_app.test_auth import PASSWORD, get_user, is_login_redirect, login


def users_cli(runner, *args, password=None):
    return runner.invoke(args=["users", *args], input=password)


def test_create_manager_with_password_from_stdin(app, runner, client):
    result = users_cli(runner, "create", "Kawaguchi-Lead", "--role", "manager",
                       "--facility", FACILITY_CODE, "--facility", OTHER_FACILITY_CODE,
                       "--password-stdin", password=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created manager 'kawaguchi-lead'" in result.output
    assert PASSWORD not in result.output
    user = get_user(app, "kawaguchi-lead")
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "kawaguchi-lead"))
        assert sorted(f.code for f in user.facilities) == sorted([FACILITY_CODE, OTHER_FACILITY_CODE])
        assert db.session.scalar(select(AuditEvent.action)) == "cli.user_created"
    assert login(client, "kawaguchi-lead").headers["Location"] == "/reports/"


def test_create_asks_for_the_password_twice(app, runner):
    result = users_cli(runner, "create", "reader", "--role", "analyst",
                       password=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("assword: ") == 2 and PASSWORD not in result.output
    assert get_user(app, "reader").role == "analyst"


def test_create_refuses_passwords_that_do_not_match(app, runner):
    result = users_cli(runner, "create", "reader", "--role", "analyst",
                       password=f"{PASSWORD}\nsomething-else-entirely\n")
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(User)) is None


@pytest.mark.parametrize("args, password, message", [
    (["--role", "manager", "--facility", "no-such-place"], PASSWORD,
     "unknown facility code(s): no-such-place"),
    (["--role", "manager"], PASSWORD, "a manager needs at least one facility"),
    (["--role", "analyst", "--facility", FACILITY_CODE], PASSWORD, "only managers and clerks are assigned facilities"),
    (["--role", "manager", "--facility", FACILITY_CODE], "short-pw1", "at least 12 characters"),
    (["--role", "manager", "--facility", FACILITY_CODE], "aaaaaaaaaaaa", "too simple"),
    (["--role", "superuser"], PASSWORD, "Invalid value for '--role'"),
])
def test_create_validates_role_facilities_and_password(app, runner, args, password, message):
    result = users_cli(runner, "create", "new-user", *args, "--password-stdin", password=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert password not in result.output
    with app.app_context():
        assert db.session.scalar(select(User)) is None


@pytest.mark.parametrize("username", ["ab", "has space", "日本語", "dash-last-", "a/b"])
def test_create_validates_the_username(app, runner, username):
    result = users_cli(runner, "create", username, "--role", "analyst", "--password-stdin",
                       password=PASSWORD + "\n")
    assert result.exit_code != 0 and "username" in result.output


def test_create_refuses_an_existing_username(runner):
    users_cli(runner, "create", "reader", "--role", "analyst", "--password-stdin", password=PASSWORD + "\n")
    result = users_cli(runner, "create", "READER", "--role", "analyst", "--password-stdin",
                       password=PASSWORD + "\n")
    assert result.exit_code != 0 and "already exists" in result.output


def test_list_set_password_disable_and_enable(app, runner, client):
    users_cli(runner, "create", "lead", "--role", "manager", "--facility", FACILITY_CODE,
              "--password-stdin", password=PASSWORD + "\n")
    listing = users_cli(runner, "list")
    assert listing.exit_code == 0 and f"lead\tmanager\tactive\t{FACILITY_CODE}" in listing.output

    login(client, "lead")
    version = get_user(app, "lead").session_version
    result = users_cli(runner, "set-password", "lead", "--password-stdin", password="another-password-9\n")
    assert result.exit_code == 0, result.output
    assert get_user(app, "lead").session_version == version + 1
    assert is_login_redirect(client.get("/auth/password"))  # the old session ended
    assert login(app.test_client(), "lead").status_code == 200  # old password refused
    assert login(app.test_client(), "lead", "another-password-9").status_code == 302

    assert users_cli(runner, "disable", "lead").exit_code == 0
    assert "lead\tmanager\tdisabled" in users_cli(runner, "list").output
    assert login(app.test_client(), "lead", "another-password-9").status_code == 200
    assert users_cli(runner, "enable", "lead").exit_code == 0
    assert login(app.test_client(), "lead", "another-password-9").status_code == 302


def test_commands_name_a_missing_user(runner):
    for command in (["set-password", "ghost", "--password-stdin"], ["disable", "ghost"]):
        result = users_cli(runner, *command, password=PASSWORD + "\n")
        assert result.exit_code != 0 and "no user 'ghost'" in result.output


def test_set_password_checks_the_rules(runner):
    users_cli(runner, "create", "reader", "--role", "analyst", "--password-stdin", password=PASSWORD + "\n")
    result = users_cli(runner, "set-password", "reader", "--password-stdin", password="reader\n")
    assert result.exit_code != 0 and "must not contain the username" in result.output


def test_demo_users_are_created_once_and_get_fresh_passwords(app, runner):
    first = users_cli(runner, "demo")
    assert first.exit_code == 0, first.output
    passwords = dict(line.split() for line in first.output.splitlines()[1:])
    assert set(passwords) == {"demo-admin", "demo-manager"}
    assert login(app.test_client(), "demo-admin", passwords["demo-admin"]).status_code == 302
    assert login(app.test_client(), "demo-manager", passwords["demo-manager"]).status_code == 302

    with app.app_context():
        again = create_demo_users()
        users = db.session.scalars(select(User).order_by(User.username)).all()
        assert [(u.username, u.role) for u in users] == [("demo-admin", "admin"), ("demo-manager", "manager")]
        assert [f.code for f in users[1].facilities] == [OTHER_FACILITY_CODE]
    assert again["demo-admin"] != passwords["demo-admin"]
    assert login(app.test_client(), "demo-admin", passwords["demo-admin"]).status_code == 200
    assert login(app.test_client(), "demo-admin", again["demo-admin"]).status_code == 302


def test_demo_restores_a_disabled_or_changed_demo_user(app, runner):
    users_cli(runner, "demo")
    users_cli(runner, "disable", "demo-manager")
    result = users_cli(runner, "demo")
    password = dict(line.split() for line in result.output.splitlines()[1:])["demo-manager"]
    assert login(app.test_client(), "demo-manager", password).status_code == 302
