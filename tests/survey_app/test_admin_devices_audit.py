"""Tablets enrolled, listed and revoked from the web; the audit log filtered and exported."""
import csv
import io
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from survey_app import audit
from survey_app.devices import device_for_token, digest
from survey_app.extensions import db
from survey_app.models import AuditEvent, Device, User
from tests.conftest import FACILITY_CODE, OTHER_FACILITY_CODE
from tests.survey_app.test_auth import csrf_token, login, make_user

from .reports_fixtures import data_elements


@pytest.fixture
def admin_client(app):
    make_user(app, "chief", role="admin")
    client = app.test_client()
    assert login(client, "chief").status_code == 302
    return client


def events(app, action=None):
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return [(e.action, e.target, e.user_id) for e in db.session.scalars(query)]


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


# ---------------------------------------------------------------------------- tablets

def test_device_list_shows_last_contact_and_queue(app, admin_client, device, other_device):
    with app.app_context():
        tablet = db.session.get(Device, device["id"])
        tablet.last_seen_at = datetime(2025, 4, 1, 0, 30)  # 09:30 in Tokyo
        tablet.pending_count, tablet.rejected_count = 3, 1
        tablet.sync_reported_at = tablet.last_seen_at
        db.session.commit()
    html = admin_client.get("/admin/devices").get_data(as_text=True)
    rows = {row["data-device"]: row for row in data_elements(html, "data-device")}
    assert rows[str(device["id"])]["data-state"] == "enrolled"
    assert rows[str(device["id"])]["data-pending"] == "3"
    assert rows[str(other_device["id"])]["data-pending"] == ""
    row_html = html.split(f'data-device="{device["id"]}"')[1].split("</tr>")[0]
    assert "2025-04-01 09:30" in row_html and "1日以上接続なし" in row_html and ">1<" in row_html


def test_admin_enrolls_a_tablet_from_the_web_once(app, admin_client, client):
    page = admin_client.get("/admin/devices")
    response = admin_client.post("/admin/devices", data={"csrf_token": csrf_token(page),
                                                         "facility": OTHER_FACILITY_CODE, "label": " 受付横 "})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    url = re.search(r'id="enrollment-url">([^<]+)<', html).group(1)
    token = re.search(r'id="device-token">([^<]+)<', html).group(1)
    with app.app_context():
        tablet = db.session.scalar(select(Device))
        assert tablet.label == "受付横" and tablet.facility.code == OTHER_FACILITY_CODE
        assert tablet.token_hash == digest(token) and token not in (tablet.enrollment_code_hash or "")
    path = url.replace("http://localhost", "")
    assert client.get(path).status_code == 200  # the tablet's browser can open the link
    assert events(app, "admin.device_enrolled") == [
        ("admin.device_enrolled", f"device {tablet.id} {OTHER_FACILITY_CODE}", user_id(app, "chief"))]
    assert token not in " ".join(target for _a, target, _u in events(app))


@pytest.mark.parametrize("data, message", [
    ({"facility": "", "label": "受付"}, "施設を選んでください。"),
    ({"facility": "nowhere", "label": "受付"}, "選べない施設です。"),
    ({"facility": FACILITY_CODE, "label": "長" * 101}, "端末の名前は100文字以内にしてください。"),
    ({"facility": FACILITY_CODE, "label": "受付\u0000横"}, "端末の名前に使えない文字が含まれています。"),
])
def test_enroll_form_refuses_bad_input_and_stores_nothing(app, admin_client, data, message):
    page = admin_client.get("/admin/devices")
    response = admin_client.post("/admin/devices", data={**data, "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Device)) is None


def test_revoke_from_the_web_needs_csrf_and_stops_the_tablet(app, admin_client, device):
    assert admin_client.post(f"/admin/devices/{device['id']}/revoke").status_code == 400
    with app.app_context():
        assert device_for_token(device["token"]) is not None
    page = admin_client.get("/admin/devices")
    response = admin_client.post(f"/admin/devices/{device['id']}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with app.app_context():
        assert device_for_token(device["token"]) is None
    assert "取り消しました" in admin_client.get("/admin/devices").get_data(as_text=True)
    # The tablet's own requests are refused from now on.
    api = app.test_client().post("/api/v1/heartbeat", json={"pending": 0, "rejected": 0},
                                 headers={"Authorization": f"Bearer {device['token']}"})
    assert api.status_code == 401
    assert [a for a, _t, _u in events(app, "admin.device_revoked")] == ["admin.device_revoked"]
    # A second revoke changes nothing and is not logged again.
    admin_client.post(f"/admin/devices/{device['id']}/revoke", data={"csrf_token": csrf_token(page)})
    assert len(events(app, "admin.device_revoked")) == 1
    assert admin_client.post("/admin/devices/999/revoke", data={"csrf_token": csrf_token(page)}).status_code == 404


@pytest.mark.parametrize("role", ["manager", "analyst"])
def test_only_admins_manage_tablets(app, client, device, role):
    make_user(app, "someone", role=role)
    login(client, "someone")
    token = csrf_token(client.get("/auth/password"))
    assert client.get("/admin/devices").status_code == 403
    assert client.post(f"/admin/devices/{device['id']}/revoke", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/devices", data={"csrf_token": token, "facility": FACILITY_CODE}).status_code == 403
    with app.app_context():
        assert device_for_token(device["token"]) is not None and db.session.query(Device).count() == 1


def test_cli_list_shows_the_queue_and_cli_revoke_is_audited(app, runner, device):
    with app.app_context():
        tablet = db.session.get(Device, device["id"])
        tablet.pending_count, tablet.rejected_count, tablet.sync_reported_at = 2, 0, datetime(2025, 4, 1)
        db.session.commit()
    assert "pending 2 rejected 0" in runner.invoke(args=["devices", "list"]).output
    runner.invoke(args=["devices", "revoke", str(device["id"])])
    assert events(app, "cli.device_revoked") == [("cli.device_revoked", f"device {device['id']} {FACILITY_CODE}", None)]


# ---------------------------------------------------------------------------- audit log

@pytest.fixture
def logged_events(app, admin_client):
    """Events of two users on three Tokyo days (2025-04-01 … 04-03), after the admin's login."""
    make_user(app, "saitama-desk", role="manager")
    with app.app_context():
        db.session.query(AuditEvent).delete()
        chief, manager = user_id(app, "chief"), user_id(app, "saitama-desk")
        plan = [(chief, "report.view", "overview fy=2024", datetime(2025, 3, 31, 15, 0)),   # 04-01 00:00 JST
                (manager, "report.view", FACILITY_CODE, datetime(2025, 4, 1, 14, 59)),       # 04-01 23:59 JST
                (manager, "report.export", f"{FACILITY_CODE} responses.csv", datetime(2025, 4, 1, 15, 0)),
                (chief, "admin.user_created", "=cmd|' /C calc'!A0", datetime(2025, 4, 3, 1, 0))]
        for who, action, target, moment in plan:
            event = audit.store(action, target, user_id=who)
            event.occurred_at = moment
        db.session.commit()


def audit_rows(html):
    return [row["data-action"] for row in data_elements(html, "data-action")]


def test_audit_log_filters_by_user_action_and_tokyo_dates(admin_client, logged_events):
    html = admin_client.get("/admin/audit?user=saitama-desk").get_data(as_text=True)
    assert audit_rows(html) == ["report.export", "report.view"]
    html = admin_client.get("/admin/audit?action=report.view").get_data(as_text=True)
    assert audit_rows(html) == ["report.view", "report.view"]
    html = admin_client.get("/admin/audit?from=2025-04-01&to=2025-04-01").get_data(as_text=True)
    assert audit_rows(html) == ["report.view", "report.view"]  # both Tokyo ends of the day, not 04-02
    html = admin_client.get("/admin/audit?from=2025-04-02&user=chief").get_data(as_text=True)
    assert audit_rows(html) == ["admin.user_created"]
    assert "条件を外す" in html and 'value="chief" selected' in html


@pytest.mark.parametrize("query, message", [
    ("from=2025-13-01", "開始日は 2025-04-01 のように年-月-日で入力してください。"),
    ("to=yesterday", "終了日は 2025-04-01 のように年-月-日で入力してください。"),
    ("from=2025-04-03&to=2025-04-01", "開始日が終了日より後になっています。"),
    ("user=nobody", "そのユーザーは見つかりません。"),
    ("action=drop.table", "その操作は選べません。"),
])
def test_bad_audit_filters_answer_400_in_japanese(admin_client, logged_events, query, message):
    for url in (f"/admin/audit?{query}", f"/admin/audit.csv?{query}"):
        response = admin_client.get(url)
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_audit_csv_holds_the_filtered_events_and_is_formula_safe(app, admin_client, logged_events):
    response = admin_client.get("/admin/audit.csv?user=chief&to=2025-04-30")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="audit_log.csv"' in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["日時（日本時間）", "ユーザー", "操作", "操作コード", "対象"]
    assert [r[3] for r in rows[1:]] == ["admin.user_created", "report.view"]
    assert rows[1][0] == "2025-04-03 10:00:00" and rows[1][1] == "chief" and rows[1][2] == "ユーザー作成"
    assert rows[1][4].startswith("'=")
    assert ("admin.audit_exported", "user=chief to=2025-04-30", user_id(app, "chief")) in events(app)


def test_a_managers_requests_for_other_facilities_are_logged(app, client, logged_events):
    login(client, "saitama-desk")
    manager = user_id(app, "saitama-desk")
    assert client.get(f"/reports/{OTHER_FACILITY_CODE}?fy=2024").status_code == 404
    assert client.get(f"/reports/{OTHER_FACILITY_CODE}/report.pdf").status_code == 404
    assert client.get("/reports/no-such-facility").status_code == 404
    assert client.get(f"/reports/{FACILITY_CODE}").status_code == 200
    denied = [(target, who) for action, target, who in events(app) if action == "report.denied"]
    assert denied == [(f"/reports/{OTHER_FACILITY_CODE}", manager),
                      (f"/reports/{OTHER_FACILITY_CODE}/report.pdf", manager),
                      ("/reports/no-such-facility（存在しない施設）", manager)]
