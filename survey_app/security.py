"""Response headers that every page gets: a strict Content-Security-Policy and friends."""
from flask import Flask, Response

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
    # Answers, reports, exports and admin pages must not survive in a browser's or a proxy's
    # cache, nor in the history of a shared computer. Static files set their own (no-cache).
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response of the app."""
    app.after_request(_security_headers)
