"""Who is logged in, and what they may see.

The session cookie (Flask's signed cookie) holds only:

- ``auth_user_id`` and ``auth_version`` — the user and their ``session_version`` at login.
  Logout, a password change, a role change and disabling all bump ``session_version``, so
  every copy of an older cookie stops working on its next request.
- ``auth_login_at`` and ``auth_last_seen`` — Unix times of the login and of the last request,
  for the absolute lifetime (``SESSION_ABSOLUTE_HOURS``, 12) and the idle timeout
  (``SESSION_IDLE_MINUTES``, 30), both checked on the server for every request.

`load_logged_in_user` runs before every request and puts the user in ``g.user``;
`current_user` is a proxy to it (an anonymous user when nobody is logged in).
"""
import time
from functools import wraps
from urllib.parse import quote, urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.local import LocalProxy

from ..audit import record
from ..extensions import db
from ..models import ROLES, Facility, User
from ..prefectures import facility_key

SESSION_KEYS = ("auth_user_id", "auth_version", "auth_login_at", "auth_last_seen")
# Refresh auth_last_seen at most this often, so that not every response rewrites the cookie.
LAST_SEEN_RESOLUTION_SECONDS = 30
ROLES_SEEING_ALL_FACILITIES = ("admin", "analyst")
# Who may read reports at all; a role not named here (a clerk) reads none.
REPORT_ROLES = ("admin", "analyst", "manager")
EXPIRED_MESSAGES = {
    "idle": "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。",
    "absolute": "ログインしてから長い時間がたったため、ログアウトしました。もう一度ログインしてください。",
}


class AnonymousUser:
    """Nobody is logged in."""

    id = None
    username = ""
    role = None
    role_label = ""
    is_authenticated = False
    is_admin = False
    facilities: list = []

    def __bool__(self) -> bool:
        return False


class SignedInUser:
    """The logged-in `User`, with the attributes views and templates use.

    Other attributes are read from the model; `.user` is the model itself (for updates).
    """

    __slots__ = ("user",)
    is_authenticated = True

    def __init__(self, user: User):
        self.user = user

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def role_label(self) -> str:
        return ROLES.get(self.user.role, self.user.role)

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    def __getattr__(self, name):
        return getattr(self.user, name)

    def __repr__(self) -> str:
        return f"<SignedInUser {self.user.username!r} ({self.user.role})>"


ANONYMOUS = AnonymousUser()


def _get_current_user():
    return g.get("user") or ANONYMOUS


current_user = LocalProxy(_get_current_user)


def _model(user) -> User | None:
    """Return the `User` model behind a user-like argument (or None for anonymous)."""
    if isinstance(user, SignedInUser):
        return user.user
    if isinstance(user, User):
        return user
    return None


# ---------------------------------------------------------------------------- the session

def start_session(user: User) -> None:
    """Log a user in: a fresh session holding only the user id, version and timestamps."""
    now = int(time.time())
    session.clear()  # nothing from before the login survives (no session fixation)
    session["auth_user_id"] = user.id
    session["auth_version"] = user.session_version
    session["auth_login_at"] = now
    session["auth_last_seen"] = now
    g.user = SignedInUser(user)


def end_session() -> None:
    """Forget the logged-in user in this browser (the caller bumps session_version)."""
    session.clear()
    g.user = None


def load_logged_in_user() -> None:
    """Before each request: check the session and set ``g.user`` (or end the session)."""
    g.user = None
    g.auth_expired = None
    if request.endpoint == "static" or "auth_user_id" not in session:
        return
    config = current_app.config
    now = int(time.time())
    try:
        user_id = int(session["auth_user_id"])
        version = int(session["auth_version"])
        login_at = int(session["auth_login_at"])
        last_seen = int(session["auth_last_seen"])
    except (KeyError, TypeError, ValueError):
        session.clear()
        return
    if now - login_at > config["SESSION_ABSOLUTE_HOURS"] * 3600:
        g.auth_expired = "absolute"
    elif now - last_seen > config["SESSION_IDLE_MINUTES"] * 60:
        g.auth_expired = "idle"
    if g.auth_expired:
        session.clear()
        return
    user = db.session.get(User, user_id)
    if user is None or user.disabled_at is not None or user.session_version != version:
        session.clear()
        return
    if now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
        session["auth_last_seen"] = now
    g.user = SignedInUser(user)


# ---------------------------------------------------------------------------- redirects

def safe_next_url(target: str | None) -> str | None:
    """Return `target` if it is a local path on this site, else None (no open redirect)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def default_landing_url() -> str:
    """Return where users go after logging in: the reports (clerks: paper entry)."""
    if current_user.is_authenticated and current_user.role == "clerk":
        return url_for("paper.entry")
    try:
        return url_for("reports.index")
    except Exception:  # the reports blueprint is not registered (e.g. in some tests)
        return (request.script_root or "") + "/reports/"


def _current_path() -> str:
    path = (request.script_root or "") + request.path
    if request.query_string:
        path += "?" + request.query_string.decode("latin-1")
    return path


def _login_redirect():
    if g.get("auth_expired"):
        # Told on the login page; the session was cleared, so this is all it holds.
        session["auth_notice"] = g.auth_expired
    if request.method != "GET":  # a form post cannot be replayed by a GET after login
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.login") + "?next=" + quote(_current_path(), safe="/"))


# ---------------------------------------------------------------------------- decorators

def login_required(view):
    """Send anyone not logged in to the login page, coming back here afterwards."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _login_redirect()
        return view(*args, **kwargs)

    return wrapped


def forbidden_page():
    """Return the Japanese 403 page."""
    return render_template("auth/message.html", title="このページは表示できません",
                           text="このページを表示する権限がありません。必要な場合は管理者にお問い合わせください。"), 403


def _role_gate(roles: tuple[str, ...], refuse):
    """A decorator letting logged-in users with one of `roles` through; `refuse()` answers the others."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _login_redirect()
            if current_user.role not in roles:
                return refuse()
            return view(*args, **kwargs)

        return wrapped

    return decorator


def roles_required(*roles: str):
    """Allow only logged-in users with one of `roles`; others get 403 (or the login page)."""
    return _role_gate(roles, forbidden_page)


def roles_or_404(*roles: str):
    """Allow only logged-in users with one of `roles`; to others the page does not exist (404).

    For pages whose very existence is not a manager's business (the theme workbench): they get
    the same answer as for another facility's page.
    """
    return _role_gate(roles, lambda: abort(404))


# ---------------------------------------------------------------------------- facilities

def can_see_facility(user, facility: Facility | None) -> bool:
    """Return whether `user` may see `facility` (admins and analysts: all; managers: assigned)."""
    model = _model(user)
    if model is None or facility is None or model.disabled_at is not None:
        return False
    if model.role in ROLES_SEEING_ALL_FACILITIES:
        return True
    if model.role == "manager":
        return any(f.id == facility.id for f in model.facilities)
    return False


PAPER_ENTRY_ROLES = ("admin", "manager", "clerk")


def can_enter_paper(user, facility: Facility | None) -> bool:
    """Return whether `user` may type in paper answers for `facility` (clerks: that and nothing else)."""
    model = _model(user)
    if model is None or facility is None or model.disabled_at is not None:
        return False
    if model.role == "admin":
        return True
    return model.role in ("manager", "clerk") and any(f.id == facility.id for f in model.facilities)


def paper_facilities(user=None) -> list[Facility]:
    """The facilities whose paper answers `user` (default: the current user) may type in."""
    model = _model(current_user._get_current_object() if user is None else user)
    if model is None or model.disabled_at is not None or model.role not in PAPER_ENTRY_ROLES:
        return []
    if model.role == "admin":
        return sorted(db.session.scalars(select(Facility)), key=facility_key)
    return sorted(model.facilities, key=facility_key)


def accessible_facilities(user=None) -> list[Facility]:
    """Return the facilities `user` (default: the current user) may see, by prefecture and code."""
    model = _model(current_user._get_current_object() if user is None else user)
    if model is None or model.disabled_at is not None:
        return []
    query = select(Facility)
    if model.role == "manager":
        ids = [f.id for f in model.facilities]
        if not ids:
            return []
        query = query.where(Facility.id.in_(ids))
    elif model.role not in ROLES_SEEING_ALL_FACILITIES:
        return []
    return sorted(db.session.scalars(query), key=facility_key)


def facility_or_404(code: str) -> Facility:
    """Return the facility with `code`, or 404 if it does not exist or the user may not see it."""
    facility = db.session.scalar(select(Facility).where(Facility.code == code))
    if facility is None or not can_see_facility(current_user._get_current_object(), facility):
        # Admins see who asked for what they may not see (the path names the facility code).
        record("report.denied", request.path if facility is not None else f"{request.path}（存在しない施設）")
        abort(404)  # the same answer for both: a manager learns nothing about other facilities
    return facility
