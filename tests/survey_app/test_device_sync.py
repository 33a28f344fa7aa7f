"""Offline tablets, server side: cookie-authenticated API calls from the tablet page, queue
reports (pending header, heartbeat), the service worker and its cache version, the staff page
and the per-device figures in the reports."""
import re
import uuid

import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Device, Response
from survey_app.questionnaire import FORM_VERSION

from ..conftest import FACILITY_CODE, OTHER_FACILITY_CODE
from .reports_fixtures import logged_in

TABLET = {"X-Survey-Client": "tablet"}
ANSWERS = {"satisfaction": 2, "establishment": 1, "respondent_group": None, "services": [],
           "comment": "駐車場がせまい"}


def body(**overrides) -> dict:
    return {"id": str(uuid.uuid4()), "facility": FACILITY_CODE, "form_version": FORM_VERSION,
            "submitted_at": "2026-11-28T09:30:00+09:00", "answers": ANSWERS} | overrides


def as_tablet(client, app, device):
    client.set_cookie(app.config["DEVICE_COOKIE_NAME"], device["cookie"])
    return client


def device_row(app, device_id: int) -> Device:
    with app.app_context():
        device = db.session.get(Device, device_id)
        db.session.expunge(device)
        return device


def response_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


# ------------------------------------------------------------ API with the device cookie

def test_tablet_page_sends_with_its_cookie_and_a_resend_is_not_doubled(client, app, device):
    as_tablet(client, app, device)
    record = body()
    first = client.post("/api/v1/responses", json=record,
                        headers=TABLET | {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/responses", json=record, headers=TABLET)
    assert again.status_code == 200
    assert response_count(app) == 1
    with app.app_context():
        row = db.session.scalar(select(Response))
        assert (row.channel, row.form_version, row.device_id) == ("api", FORM_VERSION, device["id"])


@pytest.mark.parametrize("headers", [
    {},  # a cookie alone: a cross-site form or script could send it
    {"X-Survey-Client": "other"},
    TABLET | {"Origin": "https://evil.example"},
    TABLET | {"Sec-Fetch-Site": "cross-site"},
    TABLET | {"Sec-Fetch-Site": "same-site"},
])
def test_cookie_without_same_origin_proof_is_refused(client, app, device, headers):
    as_tablet(client, app, device)
    response = client.post("/api/v1/responses", json=body(), headers=headers)
    assert response.status_code == 401
    assert response_count(app) == 0


def test_header_without_cookie_or_with_revoked_device_is_refused(client, app, device):
    assert client.post("/api/v1/responses", json=body(), headers=TABLET).status_code == 401
    as_tablet(client, app, device)
    with app.app_context():
        db.session.get(Device, device["id"]).revoked_at = db.func.now()
        db.session.commit()
    assert client.post("/api/v1/responses", json=body(), headers=TABLET).status_code == 401
    assert response_count(app) == 0


def test_cookie_of_another_facility_gets_403(client, app, other_device):
    as_tablet(client, app, other_device)
    response = client.post("/api/v1/responses", json=body(), headers=TABLET)
    assert response.status_code == 403
    assert response_count(app) == 0


# ------------------------------------------------------------ queue reports

def test_pending_header_is_stored_with_the_answer(client, app, device):
    as_tablet(client, app, device)
    response = client.post("/api/v1/responses", json=body(),
                           headers=TABLET | {"X-Survey-Pending": "4", "X-Survey-Rejected": "1"})
    assert response.status_code == 201
    row = device_row(app, device["id"])
    assert (row.pending_count, row.rejected_count) == (4, 1)
    assert row.sync_reported_at is not None and row.last_seen_at is not None


def test_bearer_clients_report_too_and_a_garbled_header_is_ignored(client, app, device):
    headers = {"Authorization": f"Bearer {device['token']}"}
    assert client.post("/api/v1/responses", json=body(),
                       headers=headers | {"X-Survey-Pending": "2"}).status_code == 201
    assert client.post("/api/v1/responses", json=body(),
                       headers=headers | {"X-Survey-Pending": "-1"}).status_code == 201
    assert device_row(app, device["id"]).pending_count == 2


def test_heartbeat_records_the_queue_and_last_seen(client, app, device):
    assert device_row(app, device["id"]).sync_reported_at is None
    as_tablet(client, app, device)
    response = client.post("/api/v1/heartbeat", json={"pending": 3, "rejected": 0}, headers=TABLET)
    assert response.status_code == 200
    assert response.get_json() == {"form_version": FORM_VERSION}
    row = device_row(app, device["id"])
    assert (row.pending_count, row.rejected_count) == (3, 0)
    assert row.last_seen_at == row.sync_reported_at


@pytest.mark.parametrize("payload", [{}, {"pending": -1, "rejected": 0}, {"pending": "3", "rejected": 0},
                                     {"pending": True, "rejected": 0}, [1, 2]])
def test_heartbeat_refuses_bad_counts(client, app, device, payload):
    as_tablet(client, app, device)
    response = client.post("/api/v1/heartbeat", json=payload, headers=TABLET)
    assert response.status_code == 422
    assert device_row(app, device["id"]).sync_reported_at is None


def test_heartbeat_needs_a_device(client, app, device):
    response = client.post("/api/v1/heartbeat", json={"pending": 0, "rejected": 0})
    assert response.status_code == 401
    bearer = {"Authorization": f"Bearer {device['token']}"}
    assert client.post("/api/v1/heartbeat", json={"pending": 1, "rejected": 0},
                       headers=bearer).status_code == 200


# ------------------------------------------------------------ service worker and pages

def test_service_worker_is_versioned_like_the_pages_and_lists_real_assets(client, app, device):
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-store"  # the browser always checks for a new one
    source = worker.get_data(as_text=True)
    version = re.search(r'var VERSION = "([^"]+)";', source).group(1)
    assert version.startswith(f"v{FORM_VERSION}-")

    as_tablet(client, app, device)
    assets = re.findall(r'"(/static/[^"]+)"', source.split("var ASSETS = ", 1)[1].split(";", 1)[0])
    assert "/static/js/offline-queue.js" in assets and "/static/css/survey.css" in assets
    for page_url in (f"/f/{FACILITY_CODE}", f"/f/{FACILITY_CODE}/thanks", f"/f/{FACILITY_CODE}/staff"):
        page = client.get(page_url).get_data(as_text=True)
        assert f'data-cache-version="{version}"' in page, page_url
        assert 'data-sw-scope="/f/"' in page
        # Offline, a script or stylesheet the worker does not keep is simply missing.
        for used in re.findall(r'(?:src|href)="(/static/[^"?]+)', page):
            assert used in assets, (page_url, used)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_staff_page_needs_the_enrolled_tablet_and_shows_no_answers(client, app, device, other_device):
    assert client.get(f"/f/{FACILITY_CODE}/staff").status_code == 403
    as_tablet(client, app, other_device)
    assert client.get(f"/f/{FACILITY_CODE}/staff").status_code == 403
    as_tablet(client, app, device)
    client.post("/api/v1/responses", json=body(), headers=TABLET)
    page = client.get(f"/f/{FACILITY_CODE}/staff")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "送信の状況（職員用）" in text and "今すぐ送信する" in text
    assert "駐車場" not in text


# ------------------------------------------------------------ reports

def test_facility_report_shows_each_tablets_last_seen_and_queue(app, device, other_device):
    with app.app_context():
        db.session.get(Device, device["id"]).label = "受付横"
        db.session.commit()
    tablet = as_tablet(app.test_client(), app, device)
    tablet.post("/api/v1/heartbeat", json={"pending": 5, "rejected": 2}, headers=TABLET)

    manager = logged_in(app, "manager-sync", "manager", [FACILITY_CODE])
    page = manager.get(f"/reports/{FACILITY_CODE}").get_data(as_text=True)
    rows = re.findall(r'<tr data-device="(\d+)" data-pending="(\d*)"\s+data-rejected="(\d*)" data-stale="(\w+)">',
                      page)
    assert rows == [(str(device["id"]), "5", "2", "false")]
    assert "受付横" in page and "5件" in page
    # The other facility's tablet is not listed here, nor visible to this manager at all.
    assert manager.get(f"/reports/{OTHER_FACILITY_CODE}").status_code in (403, 404)


def test_tablet_never_heard_of_is_flagged(app, device):
    admin = logged_in(app, "admin-sync", "admin")
    page = admin.get(f"/reports/{FACILITY_CODE}").get_data(as_text=True)
    assert f'<tr data-device="{device["id"]}" data-pending=""' in page
    assert "まだ通信していません" in page
