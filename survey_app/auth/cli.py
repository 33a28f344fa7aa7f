"""`flask --app survey_app users ...`: create, list, set-password, disable, enable, demo."""
import secrets
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import ROLES, User
from ..timeutil import utcnow
from .accounts import (AccountError, check_new_username, check_role_and_facilities,
                       create_user, disable_user, enable_user, facilities_for_codes, find_user,
                       set_password, set_role_and_facilities)
from .passwords import PasswordPolicyError

users_cli = AppGroup("users", help="Manage the people who log in to read reports.")

DEMO_FACILITY_CODE = "aomori-young-job-plaza"
DEMO_USERS = (
    ("demo-admin", "admin", []),
    ("demo-manager", "manager", [DEMO_FACILITY_CODE]),
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat password")


def _user_or_fail(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"no user '{username}'")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="admin, analyst, manager or clerk")
@click.option("--facility", "facilities", multiple=True, metavar="CODE",
              help="facility code of a manager or clerk; repeat for several")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def create_command(username, role, facilities, password_stdin):
    """Create a user; the password is asked for twice (hidden) or read from stdin."""
    # Check everything but the password first, so that a typo does not cost a password prompt.
    try:
        check_new_username(username)
        check_role_and_facilities(role, facilities_for_codes(list(facilities)))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    password = _read_password(password_stdin)
    try:
        user = create_user(username, role, password, list(facilities))
    except (AccountError, PasswordPolicyError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    audit.record("cli.user_created", user.username)
    where = f" for {', '.join(f.code for f in user.facilities)}" if user.facilities else ""
    click.echo(f"Created {user.role} '{user.username}'{where}.")


@users_cli.command("list")
def list_command():
    """List users with role, facilities and status."""
    now = utcnow()
    for user in db.session.scalars(select(User).order_by(User.username)):
        if user.disabled_at is not None:
            status = "disabled"
        elif user.locked_until is not None and user.locked_until > now:
            status = "locked"
        else:
            status = "active"
        facilities = ",".join(f.code for f in user.facilities) or "-"
        click.echo(f"{user.username}\t{user.role}\t{status}\t{facilities}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def set_password_command(username, password_stdin):
    """Set a user's password (ends their sessions and lifts a login lock)."""
    user = _user_or_fail(username)
    try:
        set_password(user, _read_password(password_stdin))
    except PasswordPolicyError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    audit.record("cli.password_set", user.username)
    click.echo(f"Password of '{user.username}' changed; their sessions have ended.")


@users_cli.command("disable")
@click.argument("username")
def disable_command(username):
    """Disable a user: no more logins, and current sessions end."""
    user = _user_or_fail(username)
    disable_user(user)
    audit.record("cli.user_disabled", user.username)
    click.echo(f"Disabled '{user.username}'.")


@users_cli.command("enable")
@click.argument("username")
def enable_command(username):
    """Allow a disabled user to log in again."""
    user = _user_or_fail(username)
    enable_user(user)
    audit.record("cli.user_enabled", user.username)
    click.echo(f"Enabled '{user.username}'.")


def create_demo_users() -> dict[str, str]:
    """Create or reset the demo users with new random passwords; return {username: password}.

    Idempotent: running it again keeps the users, restores their role and facility, enables
    and unlocks them, and gives them fresh passwords (printed by `users demo`).
    """
    passwords = {}
    for username, role, codes in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user = find_user(username)
        if user is None:
            create_user(username, role, password, codes)
        else:
            set_role_and_facilities(user, role, codes)
            set_password(user, password)
            enable_user(user)
        passwords[username] = password
    audit.record("cli.demo_users", ",".join(passwords))
    return passwords


@users_cli.command("demo")
def demo_command():
    """Create (or reset) demo-admin and demo-manager and print their new passwords."""
    try:
        passwords = create_demo_users()
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo("Demo logins (new passwords on every run; /auth/login):")
    for username, password in passwords.items():
        click.echo(f"  {username:<14} {password}")
