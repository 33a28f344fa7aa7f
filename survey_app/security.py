"""Request and response rules for every page: trusted proxies, security headers, Secure cookies."""
import logging

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

FORWARDED_HEADERS = ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port")

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


def cookies_secure() -> bool:
    """Return whether this response's cookies (session and device) must be marked Secure.

    Always with SESSION_COOKIE_SECURE (env SURVEY_SESSION_COOKIE_SECURE=true), else when the
    request came over HTTPS (as seen through a trusted proxy, see TRUSTED_PROXIES).
    """
    return bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def trust_proxies(app: Flask) -> None:
    """Take the client address, scheme, host and port from TRUSTED_PROXIES proxies' headers.

    Behind nginx without this, every client has the proxy's address (one login limit for all
    of them) and the app does not see the browser's https://host:port, so the HTTPS Referer
    check of CSRF and the tablet's same-origin check can refuse real requests.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise ValueError(f"TRUSTED_PROXIES must be the number of proxies in front (0 or more), not {hops!r}")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
        return
    warned = []

    @app.before_request
    def _warn_about_an_untrusted_proxy():
        if not warned and any(name in request.headers for name in FORWARDED_HEADERS):
            warned.append(True)  # once per process: the log is for the operator, not a flood
            log.warning("a request came with X-Forwarded-* headers, which are ignored: behind a "
                        "reverse proxy, set SURVEY_TRUSTED_PROXIES to the number of proxies")


def init_app(app: Flask) -> None:
    """Trust the configured proxies; add the security headers to every response of the app."""
    trust_proxies(app)
    app.after_request(_security_headers)
