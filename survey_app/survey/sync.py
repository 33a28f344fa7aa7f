"""Offline tablets: how the page's JavaScript authenticates, what it reports, the cache version.

The tablet's browser keeps answers it could not send in an IndexedDB queue and sends them
later through `POST /api/v1/responses`. That page needs to prove which device it is without
ever holding the device's bearer token:

* The token is stored only as a digest on the server, so the server could not hand it out
  anyway, and a token readable by JavaScript (IndexedDB, localStorage) would be readable by
  any injected script and usable from anywhere, for years.
* Instead the API also accepts the enrollment's signed device cookie, which is HttpOnly
  (no script can read it), SameSite=Lax (a cross-site POST does not carry it) and retired
  with the device (revoking or re-issuing the token invalidates it).
* A cookie alone would allow cross-site request forgery, so a cookie-authenticated call
  must also carry the `X-Survey-Client: tablet` header (another origin cannot add a custom
  header without a CORS preflight, which this app never grants) and, when the browser says
  where it comes from (`Origin`, `Sec-Fetch-Site`), come from this very origin. This holds
  when the page was served from the service worker's cache with a stale CSRF token, which
  a CSRF-token check would not.
"""
import hashlib
from functools import cache
from pathlib import Path

from flask import current_app, request

from ..devices import device_from_cookie
from ..extensions import db
from ..models import Device
from ..questionnaire import FORM_VERSION, as_json
from ..timeutil import utcnow

CLIENT_HEADER = "X-Survey-Client"
CLIENT_HEADER_VALUE = "tablet"
PENDING_HEADER = "X-Survey-Pending"
REJECTED_HEADER = "X-Survey-Rejected"
MAX_REPORTED_COUNT = 1_000_000

# What the service worker keeps for offline use, besides the facility's pages.
OFFLINE_ASSETS = (
    "css/base.css",
    "css/survey.css",
    "favicon.svg",
    "js/offline-queue.js",
    "js/read-aloud.js",
    "js/survey-form.js",
    "js/thanks.js",
    "js/staff.js",
)
# Templates whose change must refresh the cached pages too.
OFFLINE_TEMPLATES = ("base.html", "survey/layout.html", "survey/form.html",
                     "survey/thanks.html", "survey/staff.html")


def _same_origin_request() -> bool:
    if request.headers.get(CLIENT_HEADER) != CLIENT_HEADER_VALUE:
        return False
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def device_from_tablet_page() -> Device | None:
    """Return the enrolled device of a same-origin call from the tablet's own page."""
    if not _same_origin_request():
        return None
    return device_from_cookie()


def _reported_count(header: str) -> int | None:
    raw = request.headers.get(header, "")
    if not (raw.isascii() and raw.isdigit()):
        return None
    return min(int(raw), MAX_REPORTED_COUNT)


def note_queue_report(device: Device, pending: int | None = None, rejected: int | None = None,
                      commit: bool = True) -> None:
    """Remember what the tablet says about its queue (from the arguments or the headers)."""
    pending = _reported_count(PENDING_HEADER) if pending is None else pending
    rejected = _reported_count(REJECTED_HEADER) if rejected is None else rejected
    if pending is None and rejected is None:
        return
    now = utcnow()
    if pending is not None:
        device.pending_count = pending
    if rejected is not None:
        device.rejected_count = rejected
    device.sync_reported_at = now
    device.last_seen_at = now
    if commit:
        db.session.commit()


@cache
def _offline_hash(static_folder: str, template_folder: str) -> str:
    digest = hashlib.sha256()
    digest.update(repr(as_json()).encode())
    for base, names in ((static_folder, OFFLINE_ASSETS), (template_folder, OFFLINE_TEMPLATES)):
        for name in names:
            digest.update(name.encode())
            digest.update((Path(base) / name).read_bytes())
    return digest.hexdigest()[:16]


def offline_cache_version() -> str:
    """FORM_VERSION plus a digest of the questionnaire, assets and page templates.

    A new version makes the browser install the new service worker, which drops the old
    cache and fetches the pages and assets again.
    """
    app = current_app
    template_folder = str(Path(app.root_path) / app.template_folder)
    return f"v{FORM_VERSION}-{_offline_hash(app.static_folder, template_folder)}"
