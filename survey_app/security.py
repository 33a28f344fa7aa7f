"""What every response gets: a strict Content-Security-Policy and friends; when cookies are Secure."""
from flask import Flask, Response, current_app, request

# No inline script or style anywhere: JavaScript and CSS are static files served by us.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _security_headers(response: Response) -> Response:
    # setdefault: a view that needs a different policy can set its own header.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Same-origin keeps the Referer that Flask-WTF checks on HTTPS, and sends nothing outside.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def cookies_secure() -> bool:
    """Return whether this response's cookies (session and device) must be marked Secure.

    Always with SESSION_COOKIE_SECURE (env SURVEY_SESSION_COOKIE_SECURE=true), else when the
    request came over HTTPS (as seen through a trusted proxy, see TRUSTED_PROXIES).
    """
    return bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    """Add the security headers to every response of the app."""
    app.after_request(_security_headers)
