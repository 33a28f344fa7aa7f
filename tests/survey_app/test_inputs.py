"""Input the app cannot use is a client error: nested JSON, chunked bodies, huge integers."""
import io
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Device, Response
from tests.conftest import FACILITY_CODE

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import make_user
from .test_auth import csrf_token

TOO_LARGE = ["99999999999999999999", str(2**31), str(2**63), "9" * 5000]
API_PATHS = ["/api/v1/responses", "/api/v1/heartbeat"]


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def reported_pending(app, device_id: int):
    with app.app_context():
        return db.session.get(Device, device_id).pending_count


# ---------------------------------------------------------------------------- JSON bodies

NESTED = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("body", [
    NESTED,
    "{\"a\":" * 1000 + "1" + "}" * 1000,
    f'{{"id": "{uuid.uuid4()}", "facility": "{FACILITY_CODE}", "pending": 1, "rejected": 0, '
    f'"answers": {{"satisfaction": 1, "comment": {NESTED}}}}}',
])
def test_deeply_nested_json_is_a_422_in_json_and_stores_nothing(app, client, device, path, body):
    reply = client.post(path, data=body, content_type="application/json",
                        headers={"Authorization": f"Bearer {device['token']}"})
    assert reply.status_code == 422
    expected = "入力に誤りがあります。" if path.endswith("heartbeat") else "本文はJSONオブジェクトで送ってください。"
    assert reply.get_json()["error"] == expected
    assert stored(app) == 0
    assert reported_pending(app, device["id"]) is None


def chunked_post(client, path, payload: bytes, token: str | None = None,
                 content_type: str = "application/json"):
    """POST without Content-Length, as a WSGI server hands on a `Transfer-Encoding: chunked` body."""
    headers = {"Transfer-Encoding": "chunked"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(path, input_stream=io.BytesIO(payload), content_type=content_type, headers=headers,
                       environ_overrides={"wsgi.input_terminated": True})


def test_oversized_chunked_json_is_413_not_a_truncated_body(app, client, device):
    payload = json.dumps({"id": str(uuid.uuid4()), "facility": FACILITY_CODE,
                          "answers": {"satisfaction": 1, "comment": "あ" * 40_000}}).encode()
    assert len(payload) > 64 * 1024
    reply = chunked_post(client, "/api/v1/responses", payload, token=device["token"])
    assert reply.status_code == 413
    assert reply.get_json()["error"] == "リクエストが大きすぎます。"
    assert stored(app) == 0


def test_small_chunked_json_is_read_whole(app, client, device):
    payload = json.dumps({"id": str(uuid.uuid4()), "facility": FACILITY_CODE,
                          "answers": {"satisfaction": 1, "establishment": 1, "comment": "チャンクで届いた回答"}}).encode()
    reply = chunked_post(client, "/api/v1/responses", payload, token=device["token"])
    assert reply.status_code == 201
    assert stored(app) == 1


def test_chunked_body_of_exactly_the_limit_is_accepted(app, client, device):
    padding = 64 * 1024 - len(json.dumps({"pending": 0, "rejected": 0, "x": ""}))
    payload = json.dumps({"pending": 0, "rejected": 0, "x": " " * padding}).encode()
    assert len(payload) == 64 * 1024
    reply = chunked_post(client, "/api/v1/heartbeat", payload, token=device["token"])
    assert reply.status_code == 200


def test_oversized_chunked_form_post_is_413_in_japanese(app, client):
    reply = chunked_post(client, "/auth/login", b"username=" + b"a" * 70_000,
                         content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 413
    assert "送られた内容が大きすぎます" in reply.get_data(as_text=True)


# ---------------------------------------------------------------------------- integers

INT_PART = re.compile(r"<int:\w+>")


def int_routes(app):
    return [rule for rule in app.url_map.iter_rules() if INT_PART.search(rule.rule)]


@pytest.mark.parametrize("value", TOO_LARGE)
def test_int_url_parts_too_large_for_the_database_are_404(app, admin_client, value):
    routes = int_routes(app)
    assert {rule.endpoint for rule in routes} >= {"admin.edit", "admin.disable", "targets.edit"}
    token = csrf_token(admin_client.get("/admin/users/new"))
    for rule in routes:
        url = INT_PART.sub(value, rule.rule).replace("<facility_code>", FACILITY_CODE)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            reply = admin_client.open(url, method=method, data={"csrf_token": token})
            assert reply.status_code == 404, (method, url, reply.status_code)
            assert "見つかりません" in reply.get_data(as_text=True), url


def test_int_url_parts_within_range_still_match(app, admin_client):
    other = make_user(app, "someone-else", "analyst")
    assert admin_client.get(f"/admin/users/{other}").status_code == 200
    assert admin_client.get(f"/admin/users/{2**31 - 1}").status_code == 404


QUERY_URLS = [
    "/reports/?fy={}",
    "/reports/export/overview.csv?fy={}",
    "/reports/export/overview.xlsx?fy={}",
    f"/reports/{FACILITY_CODE}?fy={{}}",
    f"/reports/{FACILITY_CODE}?page={{}}",
    f"/reports/{FACILITY_CODE}?rating={{}}",
    f"/reports/{FACILITY_CODE}/responses.csv?fy={{}}",
    "/admin/audit?page={}",
    "/admin/targets/?fy={}",
    f"/admin/targets/open?facility_code={FACILITY_CODE}&fy={{}}",
]


@pytest.mark.parametrize("value", [str(2**31), "9" * 5000, "-" + TOO_LARGE[0]])
@pytest.mark.parametrize("url", QUERY_URLS)
def test_int_query_parameters_too_large_for_the_database_are_400(admin_client, url, value):
    reply = admin_client.get(url.format(value))
    assert reply.status_code == 400
    assert "リクエストが正しくありません" in reply.get_data(as_text=True)


@pytest.mark.parametrize("value", ["abc", "²", "١٢", "1_0", " ", "1.5"])
def test_int_query_parameters_that_are_not_numbers_are_ignored(admin_client, value):
    assert admin_client.get(f"/admin/targets/?fiscal_year={value}").status_code == 200
    assert admin_client.get(f"/admin/audit?page={value}").status_code == 200
    assert admin_client.get(f"/reports/?fy={value}").status_code == 200
