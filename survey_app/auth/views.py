"""Login, logout and password change; the per-request session check.

Failed logins are limited twice: per username (LOGIN_MAX_FAILURES, then a lock of
LOGIN_LOCK_MINUTES stored in users.locked_until) and per client address (LOGIN_IP_MAX_FAILURES
in LOGIN_IP_WINDOW_MINUTES, counted in the login_attempts table that every worker shares, then
429). Unknown usernames get the same messages, the same lock behaviour (in this process's
memory) and the same hashing time as real ones.
"""
import logging
import threading
import time
from datetime import timedelta

from flask import (current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_wtf.csrf import CSRFError
from sqlalchemy import delete, func, select, update

from .. import audit
from ..extensions import db
from ..models import ROLES, LoginAttempt, User
from ..timeutil import utcnow
from . import bp
from .access import (EXPIRED_MESSAGES, current_user, default_landing_url, end_session,
                     load_logged_in_user, login_required, safe_next_url, start_session)
from .accounts import bump_session_version, find_user, normalize_username, set_password
from .forms import LoginForm, LogoutForm, PasswordChangeForm
from .passwords import PASSWORD_RULES_JA, verify_password

log = logging.getLogger(__name__)

INVALID_MESSAGE = "ユーザー名またはパスワードが正しくありません。"
LOCKED_MESSAGE = ("ログインに続けて失敗したため、このユーザー名でのログインを一時的に停止しています。"
                  "{minutes}分ほど待ってから、もう一度お試しください。")
NOTICES = dict(EXPIRED_MESSAGES, logged_out="ログアウトしました。")
# Bound on the in-memory table, so that a flood of made-up names cannot exhaust memory.
MAX_TRACKED_KEYS = 10_000
# login_attempts.address holds at most this much (an IPv6 address has at most 45 characters).
ADDRESS_MAX_LENGTH = 64


class LoginThrottle:
    """In-memory failure counters of one process, per unknown username."""

    def __init__(self):
        self._lock = threading.Lock()
        self._unknown_users: dict[str, list] = {}  # name -> [failures, locked_until]

    def unknown_user_locked(self, username: str) -> bool:
        now = time.time()
        with self._lock:
            entry = self._unknown_users.get(username)
            return bool(entry and entry[1] > now)

    def unknown_user_failed(self, username: str, limit: int, lock_seconds: int) -> bool:
        """Count a failure for a name no user has; return True if the name is now locked."""
        now = time.time()
        with self._lock:
            if len(self._unknown_users) >= MAX_TRACKED_KEYS and username not in self._unknown_users:
                self._prune(self._unknown_users, lambda e: e[1] > now)
            entry = self._unknown_users.setdefault(username, [0, 0.0])
            entry[0] += 1
            if entry[0] >= limit:
                entry[0], entry[1] = 0, now + lock_seconds
                return True
            return False

    @staticmethod
    def _prune(table: dict, keep) -> None:
        for key in [k for k, v in table.items() if not keep(v)]:
            del table[key]
        while len(table) >= MAX_TRACKED_KEYS:
            del table[next(iter(table))]


def login_throttle() -> LoginThrottle:
    """Return this app's throttle (one per app, so tests do not share counters)."""
    return current_app.extensions.setdefault("survey_login_throttle", LoginThrottle())


def _attempts_in_window(address: str) -> tuple[int, int]:
    """Return how many attempts `address` has in the window, and seconds until the oldest expires."""
    window = timedelta(minutes=current_app.config["LOGIN_IP_WINDOW_MINUTES"])
    now = utcnow()
    count, oldest = db.session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at))
        .where(LoginAttempt.address == address, LoginAttempt.attempted_at > now - window)).one()
    return count, (max(1, int((oldest + window - now).total_seconds()) + 1) if count else 0)


def address_retry_after(address: str) -> int:
    """Return seconds until `address` may try to log in again, or 0 if it may try now."""
    count, retry_after = _attempts_in_window(address)
    return retry_after if count >= current_app.config["LOGIN_IP_MAX_FAILURES"] else 0


def begin_attempt(address: str) -> tuple[LoginAttempt | None, int]:
    """Store an attempt before its password is checked; return it, or (None, retry_after).

    The row is committed before counting, so of any number of parallel attempts at most the
    limit see a count within it; the others are deleted and refused. Expired rows of every
    address are deleted here, so the table never holds more than one window.
    """
    now = utcnow()
    window = timedelta(minutes=current_app.config["LOGIN_IP_WINDOW_MINUTES"])
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - window))
    attempt = LoginAttempt(address=address, attempted_at=now)
    db.session.add(attempt)
    db.session.commit()
    count, retry_after = _attempts_in_window(address)
    if count <= current_app.config["LOGIN_IP_MAX_FAILURES"]:
        return attempt, 0
    db.session.delete(attempt)  # a refused attempt does not count
    db.session.commit()
    return None, retry_after


def authenticate(username: str, password: str) -> tuple[str, User | None]:
    """Check a login; return ("ok" | "invalid" | "locked", user or None).

    Every path hashes the password once, so the answer takes the same time for real,
    unknown, locked and disabled users.
    """
    config = current_app.config
    max_failures, lock_minutes = config["LOGIN_MAX_FAILURES"], config["LOGIN_LOCK_MINUTES"]
    now = utcnow()
    user = find_user(username)
    if user is None:
        verify_password(None, password)
        throttle = login_throttle()
        if throttle.unknown_user_locked(username):
            return "locked", None
        audit.store("auth.login_failed")
        locked = throttle.unknown_user_failed(username, max_failures, lock_minutes * 60)
        return ("locked" if locked else "invalid"), None
    if user.locked_until is not None and user.locked_until > now:
        verify_password(user.password_hash, password)  # same time; the result does not matter
        return "locked", user
    if verify_password(user.password_hash, password) and user.disabled_at is None:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return "ok", user
    # Atomic increment: parallel guesses cannot slip past the limit.
    db.session.execute(update(User).where(User.id == user.id)
                       .values(failed_logins=User.failed_logins + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user, ["failed_logins"])
    if user.failed_logins >= max_failures:
        user.failed_logins = 0
        user.locked_until = now + timedelta(minutes=lock_minutes)
        log.warning("login locked for %d minutes after repeated failures: user id %s",
                    lock_minutes, user.id)
        audit.store("auth.locked", user_id=user.id)
        return "locked", user
    log.info("login failed: user id %s", user.id)
    audit.store("auth.login_failed", user_id=user.id)
    return "invalid", user


def _client_address() -> str:
    # The proxy's view of it with TRUSTED_PROXIES (security.trust_proxies), else the peer's.
    return (request.remote_addr or "unknown")[:ADDRESS_MAX_LENGTH]


def _too_many_attempts(address: str, retry_after: int):
    log.warning("login attempts refused for a client address after repeated failures: %s", address)
    body, status = _message("しばらくお待ちください",
                            "ログインの失敗が続いたため、この端末からのログインを一時的に止めています。"
                            "しばらく待ってから、もう一度お試しください。", 429)
    return body, status, {"Retry-After": str(retry_after)}


def _message(title: str, text: str, status: int, link: tuple[str, str] | None = None):
    return render_template("auth/message.html", title=title, text=text, link=link), status


# ---------------------------------------------------------------------------- hooks

bp.before_app_request(load_logged_in_user)


@bp.app_context_processor
def _auth_template_globals():
    return {"current_user": current_user, "role_labels": ROLES, "password_rules": PASSWORD_RULES_JA}


@bp.errorhandler(CSRFError)
def _csrf_error(_error):
    return _message("もう一度お試しください",
                    "画面を長く開いたままだったなどの理由で、送信を受け付けられませんでした。"
                    "お手数ですが、もう一度ログイン画面からお試しください。",
                    400, (url_for("auth.login"), "ログイン画面へ"))


# ---------------------------------------------------------------------------- views

@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    next_url = safe_next_url(form.next.data if request.method == "POST" else request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or default_landing_url())
    form.next.data = next_url or ""
    notice = NOTICES.get(session.pop("auth_notice", None))
    error = None
    status = 200
    if request.method == "POST":
        config = current_app.config
        address = _client_address()
        retry_after = address_retry_after(address)
        if retry_after:
            return _too_many_attempts(address, retry_after)
        if form.validate_on_submit():
            attempt, retry_after = begin_attempt(address)
            if attempt is None:
                return _too_many_attempts(address, retry_after)
            result, user = authenticate(normalize_username(form.username.data), form.password.data)
            if result == "ok":
                db.session.delete(attempt)  # only failures count against the address
                db.session.commit()
                start_session(user)
                audit.record("auth.login")
                log.info("login: user id %s", user.id)
                return redirect(next_url or default_landing_url())
            db.session.commit()  # the attempt stays: a failure within the window
            error = (LOCKED_MESSAGE.format(minutes=config["LOGIN_LOCK_MINUTES"])
                     if result == "locked" else INVALID_MESSAGE)
            status = 200
        form.password.data = ""
    return render_template("auth/login.html", form=form, error=error, notice=notice), status


@bp.post("/logout")
def logout():
    LogoutForm()  # the CSRF token was checked by CSRFProtect before this view
    user = g.get("user")
    if user:
        bump_session_version(user.user)
        audit.record("auth.logout")  # commits the new session_version
    end_session()
    session["auth_notice"] = "logged_out"
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    form.username_for_policy = current_user.username
    if form.validate_on_submit():
        user = current_user.user
        if not verify_password(user.password_hash, form.current_password.data):
            form.current_password.errors.append("今のパスワードが正しくありません。")
        else:
            set_password(user, form.new_password.data)  # ends every other session
            audit.record("auth.password_changed")
            start_session(user)  # this browser continues with the new session_version
            flash("パスワードを変更しました。ほかの端末のログインは終了しました。", "success")
            return redirect(url_for("auth.change_password"))
    return render_template("auth/password.html", form=form)
