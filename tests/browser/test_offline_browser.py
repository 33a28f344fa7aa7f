"""Offline tablets in a real chromium: the service worker, the IndexedDB queue and its sync.

The server is the real app on a real SQLite file. Outages are real too: the browser context
goes offline (Playwright's network emulation), or the server itself answers 503 through a
small WSGI switch in front of the app, exactly what a tablet sees when the database is down.
"""
import json
import threading

import pytest
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Device, Response

from ..conftest import FACILITY_CODE
from .conftest import assert_missing_answers_reported, collect_csp_violations, plain_text, run_axe

pytestmark = pytest.mark.browser

# Short kiosk and retry timings keep the tests fast; the logic is the same as in production.
FAST = {"KIOSK_THANKS_SECONDS": 1, "KIOSK_IDLE_SECONDS": 60,
        "SYNC_RETRY_MIN_SECONDS": 0.5, "SYNC_RETRY_MAX_SECONDS": 2}


class ServerSwitch:
    """WSGI middleware in front of the live app: log requests, answer 503 while told to."""

    def __init__(self, app):
        self.wrapped = app.wsgi_app
        self.unavailable = False
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        app.wsgi_app = self

    def __call__(self, environ, start_response):
        with self.lock:
            self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
            unavailable = self.unavailable
        if unavailable and environ["REQUEST_METHOD"] == "POST":
            body = json.dumps({"error": "一時的に使えません。"}).encode()
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body))),
                                                       ("Retry-After", "1")])
            return [body]
        return self.wrapped(environ, start_response)

    def seen(self, method: str, prefix: str) -> int:
        with self.lock:
            return sum(1 for m, path in self.requests if m == method and path.startswith(prefix))


def enroll_and_wait_offline_ready(page, server) -> str:
    """Enroll the browser and wait until the service worker holds the pages for offline use."""
    page.goto(server.enrollment_url(FACILITY_CODE))
    page.get_by_role("button", name="登録する").tap()
    page.wait_for_url(f"**/f/{FACILITY_CODE}")
    page.wait_for_selector("html[data-offline-ready]", state="attached")
    return page.url


def answer(page, satisfaction: str, comment: str = ""):
    page.locator("#survey-form").wait_for()
    page.get_by_label(satisfaction, exact=True).tap()
    page.get_by_label("まあそう思う", exact=True).tap()
    if comment:
        page.locator("#comment").fill(comment)
    page.get_by_role("button", name="送信する").tap()
    page.wait_for_url(f"**/f/{FACILITY_CODE}/thanks")
    assert "ご協力ありがとうございました" in plain_text(page.locator("h1"))


def queue_size(page) -> int:
    return page.evaluate("() => window.SurveyOffline.status().then(s => s.pending + s.rejected.length)")


def stored(app) -> list[Response]:
    with app.app_context():
        return list(db.session.scalars(select(Response).order_by(Response.id)))


def wait_for_stored(page, app, count: int, timeout_ms: int = 15_000):
    for _ in range(timeout_ms // 100):
        if len(stored(app)) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{len(stored(app))} responses stored, expected {count}")


def open_staff_view(page):
    header = page.locator(".site-header")
    for _ in range(5):
        header.tap()
    page.wait_for_url(f"**/f/{FACILITY_CODE}/staff")
    page.locator("#staff[data-pending]").wait_for(state="attached")


def test_three_answers_offline_survive_a_reload_and_are_stored_once_online(live_server, page):
    server = live_server(FAST)
    switch = ServerSwitch(server.app)
    csp_violations = collect_csp_violations(page)
    form_url = enroll_and_wait_offline_ready(page, server)

    # Chromium's offline emulation can let a POST through right after a navigation (seen once
    # in CI), so the server refuses answers too: either way the tablet gets no answer stored.
    page.context.set_offline(True)
    switch.unavailable = True
    gets_before = switch.seen("GET", "/f/")
    answer(page, "満足", "駐車場がせまい")
    page.wait_for_url(form_url, timeout=5_000)
    answer(page, "まあ満足")
    page.wait_for_url(form_url, timeout=5_000)
    answer(page, "不満", "待ち時間が長い")
    page.wait_for_url(form_url, timeout=5_000)

    # Reload with no network: the service worker serves the form, the queue is still there.
    response = page.reload()
    assert response.from_service_worker
    page.locator("#survey-form").wait_for()
    assert page.locator("#survey-form input:checked").count() == 0
    assert queue_size(page) == 3
    assert stored(server.app) == []
    assert switch.seen("GET", "/f/") == gets_before, "a page came from the network while offline"

    switch.unavailable = False
    page.context.set_offline(False)
    wait_for_stored(page, server.app, 3)
    page.wait_for_function("() => window.SurveyOffline.status().then(s => s.pending === 0)")
    page.wait_for_timeout(500)  # any duplicate re-send would land by now
    rows = stored(server.app)
    assert len(rows) == 3
    assert sorted(row.satisfaction for row in rows) == [1, 2, 4]
    assert {row.comment for row in rows} == {"駐車場がせまい", None, "待ち時間が長い"}
    assert {row.channel for row in rows} == {"api"}
    assert all(row.form_version == 1 for row in rows)
    assert queue_size(page) == 0
    assert page.evaluate("() => [localStorage.length, sessionStorage.length]") == [0, 0]
    assert csp_violations == []

    # The tablet reported its (now empty) queue: the managers' figures.
    with server.app.app_context():
        device = db.session.scalar(select(Device))
        assert device.last_seen_at is not None
        assert device.pending_count == 0


def test_server_answering_503_then_200_stores_the_answer_exactly_once(live_server, page):
    server = live_server(FAST)
    switch = ServerSwitch(server.app)
    enroll_and_wait_offline_ready(page, server)

    switch.unavailable = True
    answer(page, "やや不満", "窓口が混んでいた")
    # The respondent saw the thank-you page; the answer waits and is retried with backoff.
    page.wait_for_function("() => window.SurveyOffline.status().then(s => s.lastFailure && s.pending === 1)")
    page.wait_for_timeout(1_500)
    failed_attempts = switch.seen("POST", "/api/v1/responses")
    assert failed_attempts >= 1
    assert stored(server.app) == []

    switch.unavailable = False
    wait_for_stored(page, server.app, 1)
    page.wait_for_timeout(1_000)
    rows = stored(server.app)
    assert len(rows) == 1
    assert (rows[0].satisfaction, rows[0].comment) == (3, "窓口が混んでいた")
    page.wait_for_function("() => window.SurveyOffline.status().then(s => s.pending === 0 && s.lastSuccessAt)")


def test_answer_refused_with_422_is_kept_aside_not_retried_and_shown_to_staff(live_server, page,
                                                                            new_context, artifacts_dir):
    server = live_server(FAST)
    switch = ServerSwitch(server.app)
    form_url = enroll_and_wait_offline_ready(page, server)

    # An answer queued by an older page the server no longer accepts (a choice that is gone).
    page.context.set_offline(True)
    page.evaluate("""() => window.SurveyOffline.enqueue({
        id: window.SurveyOffline.newId(), facility: window.SurveyOffline.settings.facility,
        submitted_at: new Date().toISOString(), form_version: 1,
        answers: {satisfaction: 1, establishment: 1, respondent_group: "retired",
                  services: [], comment: null}}, false)""")
    answer(page, "満足")
    page.wait_for_url(form_url, timeout=5_000)
    page.context.set_offline(False)

    wait_for_stored(page, server.app, 1)
    page.wait_for_function("() => window.SurveyOffline.status().then(s => s.rejected.length === 1 && s.pending === 0)")
    posts = switch.seen("POST", "/api/v1/responses")
    page.wait_for_timeout(3_000)  # several retry periods (max 2 s): no new attempt
    assert switch.seen("POST", "/api/v1/responses") == posts
    assert len(stored(server.app)) == 1

    open_staff_view(page)
    staff = page.locator("#staff")
    assert staff.get_attribute("data-rejected") == "1"
    assert staff.get_attribute("data-pending") == "0"
    item = page.locator(".rejected-item")
    assert item.get_attribute("data-status") == "422"
    assert "回答の内容に誤りがある" in item.inner_text()
    assert page.locator("#staff-last-success").inner_text() != "まだありません"
    page.screenshot(path=str(artifacts_dir / "survey-staff-view.png"), full_page=True)

    # The tablet told the server about the refused answer: managers see it.
    with server.app.app_context():
        device = db.session.scalar(select(Device))
        assert (device.pending_count, device.rejected_count) == (0, 1)

    # Forcing a sync does not send the refused answer again; deleting it takes two taps.
    page.get_by_role("button", name="今すぐ送信する").tap()
    page.wait_for_function("() => document.getElementById('staff-status').textContent.includes('ありません')")
    assert switch.seen("POST", "/api/v1/responses") == posts
    delete = item.get_by_role("button", name="削除する")
    delete.tap()
    assert queue_size(page) == 1
    item.get_by_role("button", name="もう一度押すと削除します").tap()
    page.locator(".rejected-item").wait_for(state="detached")
    assert queue_size(page) == 0


def test_staff_view_passes_axe_and_has_large_targets(live_server, new_context):
    server = live_server(FAST)
    page = new_context(bypass_csp=True).new_page()
    enroll_and_wait_offline_ready(page, server)
    page.evaluate("""() => window.SurveyOffline.enqueue({
        id: window.SurveyOffline.newId(), facility: window.SurveyOffline.settings.facility,
        submitted_at: new Date().toISOString(), form_version: 1,
        answers: {satisfaction: 9, establishment: 1, respondent_group: null, services: [], comment: null}}, false)""")
    page.wait_for_function("() => window.SurveyOffline.status().then(s => s.rejected.length === 1)")
    open_staff_view(page)
    page.locator(".rejected-item").wait_for()
    violations = run_axe(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)
    targets = page.locator("#staff button, #staff a.button")
    assert targets.count() == 4
    for index in range(targets.count()):
        box = targets.nth(index).bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48, (index, box)
    page.locator("#staff-close").tap()
    page.wait_for_url(f"**/f/{FACILITY_CODE}")


def test_offline_form_with_missing_answers_shows_the_errors_and_queues_nothing(live_server, page):
    server = live_server(FAST)
    enroll_and_wait_offline_ready(page, server)
    page.context.set_offline(True)
    page.reload()
    page.locator("label[for=services-1]").tap()
    page.get_by_role("button", name="送信する").tap()
    assert_missing_answers_reported(page)
    assert page.locator("#services-1").is_checked()
    assert queue_size(page) == 0
    # Answering the rest sends it into the queue as usual.
    page.get_by_label("満足", exact=True).tap()
    page.get_by_label("そう思う", exact=True).tap()
    page.get_by_role("button", name="送信する").tap()
    page.wait_for_url(f"**/f/{FACILITY_CODE}/thanks")
    assert queue_size(page) == 1
    page.context.set_offline(False)
    wait_for_stored(page, server.app, 1)
    row = stored(server.app)[0]
    assert (row.satisfaction, row.establishment, row.services) == (1, 1, ["job_search"])


def test_a_new_version_replaces_the_cached_pages_and_keeps_queued_answers(live_server, page, monkeypatch):
    """A questionnaire or asset change: the tablet installs the new worker, drops the old cache,
    refreshes its idle form, and an answer queued under the old version is still stored."""
    monkeypatch.setattr("survey_app.survey.views.offline_cache_version", lambda: "v1-old")
    server = live_server(FAST)
    form_url = enroll_and_wait_offline_ready(page, server)
    cache_names = "() => caches.keys().then(names => names.filter(n => n.startsWith('survey-offline-')))"
    assert page.evaluate(cache_names) == ["survey-offline-v1-old"]

    # An answer queued offline under the old version.
    page.context.set_offline(True)
    answer(page, "まあ満足", "古い版で回答")
    page.wait_for_url(form_url, timeout=5_000)
    assert queue_size(page) == 1

    # The server moves on; the tablet comes back online and checks for a new worker.
    monkeypatch.setattr("survey_app.survey.views.offline_cache_version", lambda: "v1-new")
    page.context.set_offline(False)
    page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
    page.wait_for_function(
        "() => caches.keys().then(names => { const ours = names.filter(n => n.startsWith('survey-offline-'));"
        " return ours.length === 1 && ours[0] === 'survey-offline-v1-new'; })", timeout=15_000)
    # The idle form reloads itself under the new worker and is ready offline again.
    page.wait_for_selector("[data-cache-version='v1-new']", state="attached", timeout=15_000)
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=15_000)

    wait_for_stored(page, server.app, 1)
    rows = stored(server.app)
    assert [(row.comment, row.form_version) for row in rows] == [("古い版で回答", 1)]

    # Offline again: the new cache serves the form.
    page.context.set_offline(True)
    response = page.reload()
    assert response.from_service_worker
    page.locator("#survey-form").wait_for()
