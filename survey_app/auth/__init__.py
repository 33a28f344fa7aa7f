"""Logins for report readers: sessions, roles and which facilities each user may see.

Settings (defaults in brackets; each can also be set as an env var with the SURVEY_ prefix):
SESSION_IDLE_MINUTES [30], SESSION_ABSOLUTE_HOURS [12], LOGIN_MAX_FAILURES [5] per username
before a lock of LOGIN_LOCK_MINUTES [15], LOGIN_IP_MAX_FAILURES [20] per client address in
LOGIN_IP_WINDOW_MINUTES [15] before 429.

The session cookie is HttpOnly and SameSite=Lax, and Secure by `security.cookies_secure`: when
SESSION_COOKIE_SECURE is true (env SURVEY_SESSION_COOKIE_SECURE=true) or the request came over
HTTPS. Behind a TLS-terminating proxy, set SURVEY_TRUSTED_PROXIES so that request.is_secure
and the client address are the proxy's view of them.
"""
from flask import Blueprint, Flask
from flask.sessions import SecureCookieSessionInterface

from ..security import cookies_secure

from .access import (accessible_facilities, can_see_facility, current_user, facility_or_404,
                     login_required, roles_or_404, roles_required)

__all__ = ["bp", "init_app", "login_required", "roles_required", "roles_or_404", "current_user",
           "accessible_facilities", "facility_or_404", "can_see_facility"]

bp = Blueprint("auth", __name__, url_prefix="/auth")

DEFAULTS = {
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 12,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCK_MINUTES": 15,
    "LOGIN_IP_MAX_FAILURES": 20,
    "LOGIN_IP_WINDOW_MINUTES": 15,
}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure on every request that came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookies_secure()


def init_app(app: Flask) -> None:
    """Register the auth blueprint, its settings and the session cookie rules."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.session_interface = SessionInterface()
    app.register_blueprint(bp)


from . import views  # noqa: E402,F401  (registers the routes on bp)
