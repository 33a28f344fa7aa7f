"""App-wide Japanese error pages, and logs that never carry comments, passwords or tokens."""
import logging
import uuid

import pytest

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import CSRF_PATTERN, PASSWORD, make_user

COMMENT_MARKER = "秘密のコメント山田太郎090-9999-0000"
PASSWORD_MARKER = "wrong-password-秘密-12345"


@pytest.mark.parametrize("path, status, title", [
    ("/no/such/page", 404, "ページが見つかりません"),
    ("/auth/login?x=1", 200, None),
    ("/admin/targets/import", 405, "この操作はできません"),
])
def test_pages_outside_the_blueprints_answer_in_japanese(client, path, status, title):
    response = client.get(path)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert '<html lang="ja">' in html
    if title:
        assert title in html and "Not Found" not in html and "Method Not Allowed" not in html


def test_unknown_api_urls_answer_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.is_json


def test_logs_hold_no_comment_password_or_token(app, client, device, caplog):
    caplog.set_level(logging.DEBUG)
    make_user(app, "log-manager", "manager")
    # A failed and a successful login.
    for password in (PASSWORD_MARKER, PASSWORD):
        page = client.get("/auth/login").get_data(as_text=True)
        token = next(group for group in CSRF_PATTERN.search(page).groups() if group)
        client.post("/auth/login", data={"username": "log-manager", "password": password, "csrf_token": token})
    # An answer through the API, its re-send, and a conflicting re-send (409).
    body = {"id": str(uuid.uuid4()), "facility": device["facility"],
            "answers": {"satisfaction": 1, "establishment": 1, "comment": COMMENT_MARKER}}
    headers = {"Authorization": f"Bearer {device['token']}"}
    assert client.post("/api/v1/responses", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/responses", json=body, headers=headers).status_code == 200
    body["answers"]["comment"] = COMMENT_MARKER + "別"
    assert client.post("/api/v1/responses", json=body, headers=headers).status_code == 409
    # A rejected one (422) echoes nothing into the logs either.
    body["answers"]["satisfaction"] = 9
    assert client.post("/api/v1/responses", json=body, headers=headers).status_code == 422

    logged = "\n".join(record.getMessage() + str(record.exc_info or "") for record in caplog.records)
    assert any("login" in record.getMessage() for record in caplog.records), "logins should be logged"
    for secret in (COMMENT_MARKER, PASSWORD_MARKER, PASSWORD, device["token"]):
        assert secret not in logged
