"""User accounts: create, assign facilities, set passwords, disable — used by the CLI and admin pages.

These functions change the session's objects but do not commit; the caller commits (usually
through `audit.record`, which commits the audit row together with the change).
"""
import re

from sqlalchemy import func, select, update

from ..extensions import db
from ..models import FACILITY_ROLES, ROLES, Facility, User
from ..prefectures import facility_key
from ..timeutil import utcnow
from .passwords import check_password_policy, hash_password

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")


class AccountError(ValueError):
    """A bad account request; `str()` is English (CLI), `.ja` is Japanese (pages)."""

    def __init__(self, message: str, ja: str):
        super().__init__(message)
        self.ja = ja


def normalize_username(raw: str) -> str:
    """Return the canonical form of a username: trimmed and lower case."""
    return (raw or "").strip().lower()


def find_user(username: str) -> User | None:
    """Return the user with this username (any case), or None."""
    return db.session.scalar(select(User).where(User.username == normalize_username(username)))


def facilities_for_codes(codes: list[str]) -> list[Facility]:
    """Return the facilities with these codes; raise AccountError naming unknown codes."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    found = db.session.scalars(select(Facility).where(Facility.code.in_(wanted))).all() if wanted else []
    unknown = sorted(set(wanted) - {f.code for f in found})
    if unknown:
        raise AccountError(f"unknown facility code(s): {', '.join(unknown)}",
                           f"施設コードが見つかりません: {', '.join(unknown)}")
    return sorted(found, key=facility_key)


def check_role_and_facilities(role: str, facilities: list[Facility]) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role '{role}'; choose one of {', '.join(ROLES)}",
                           "役割の指定が正しくありません。")
    if role in FACILITY_ROLES and not facilities:
        raise AccountError(f"a {role} needs at least one facility (--facility CODE)",
                           f"{ROLES[role]}には、担当する施設を1つ以上選んでください。")
    if role not in FACILITY_ROLES and facilities:
        raise AccountError(f"only managers and clerks are assigned facilities; a {role} sees all of them",
                           "担当施設を指定できるのは施設管理者と入力担当だけです（他の役割は全施設を閲覧できます）。")


def check_new_username(username: str) -> str:
    """Return the normalized username; raise AccountError if it is malformed or taken."""
    username = normalize_username(username)
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            f"username '{username}' must be 3–64 characters of a-z, 0-9, '.', '_' or '-'"
            " (starting and ending with a letter or digit)",
            "ユーザー名は、半角英小文字・数字・「.」「_」「-」で3〜64文字にしてください。")
    if find_user(username) is not None:
        raise AccountError(f"user '{username}' already exists", "そのユーザー名はすでに使われています。")
    return username


def create_user(username: str, role: str, password: str, facility_codes: list[str] = ()) -> User:
    """Create a user after checking username, role, facilities and password rules."""
    username = check_new_username(username)
    facilities = facilities_for_codes(list(facility_codes))
    check_role_and_facilities(role, facilities)
    check_password_policy(password, username)
    user = User(username=username, role=role, password_hash=hash_password(password),
                facilities=facilities, failed_logins=0, session_version=1)
    db.session.add(user)
    db.session.flush()
    return user


def set_role_and_facilities(user: User, role: str, facility_codes: list[str]) -> None:
    """Change a user's role and assigned facilities (cleared for roles that see all)."""
    facilities = facilities_for_codes(list(facility_codes))
    if role not in FACILITY_ROLES:
        facilities = []
    check_role_and_facilities(role, facilities)
    changed = role != user.role or {f.id for f in facilities} != {f.id for f in user.facilities}
    user.role = role
    user.facilities = facilities
    if changed:
        # What the user may see changed: sessions start again with the new rights.
        bump_session_version(user)


def set_password(user: User, password: str) -> None:
    """Set a new password, lift any lock and end every session of the user."""
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)
    unlock_user(user)
    bump_session_version(user)


def disable_user(user: User) -> None:
    """Disable a user: no more logins, and every existing session ends."""
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    bump_session_version(user)


def enable_user(user: User) -> None:
    """Allow a disabled user to log in again."""
    user.disabled_at = None
    unlock_user(user)


def unlock_user(user: User) -> None:
    """Lift a login lock and forget failed attempts."""
    user.failed_logins = 0
    user.locked_until = None


def bump_session_version(user: User) -> None:
    """Invalidate every session cookie issued for the user (atomic increment in SQL)."""
    if user.id is None:
        db.session.flush()
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user, ["session_version"])


def active_admin_count() -> int:
    """Return how many admins can still log in."""
    return db.session.scalar(select(func.count()).select_from(User)
                             .where(User.role == "admin", User.disabled_at.is_(None))) or 0
