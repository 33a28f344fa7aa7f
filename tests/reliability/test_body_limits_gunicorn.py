"""Oversized chunked bodies and deeply nested JSON, through a real gunicorn.

The test client hands the app no `Transfer-Encoding: chunked` body of its own; gunicorn
de-chunks it and passes it on without Content-Length, which is the case that matters.
"""
import http.client
import json
import os
import uuid

import pytest

from tests.reliability.server import (GunicornServer, count_by_uuid, drop_database, make_body,
                                      prepare_database)

pytestmark = pytest.mark.database

FACILITY = "kawaguchi-employment-support-corner"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('limits') / 'db.sqlite3'}"
    tokens = prepare_database(url, [FACILITY])
    server = GunicornServer(url, workers=1).start()
    yield server, url, tokens[FACILITY]
    server.stop()
    drop_database(url)


def post(server, path: str, payload: bytes, token: str | None = None, chunked: bool = True,
         content_type: str = "application/json"):
    """POST `payload`, in 8 KiB chunks without Content-Length unless chunked=False."""
    connection = http.client.HTTPConnection(*server.address, timeout=30)
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        if chunked:
            pieces = (payload[i:i + 8192] for i in range(0, len(payload), 8192))
            connection.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", path, body=payload, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.getheader("Content-Type"), reply.read().decode()
    finally:
        connection.close()


def answer(comment: str) -> dict:
    body = make_body(FACILITY, 1)
    body["answers"]["comment"] = comment
    return body


def test_oversized_chunked_answer_is_413_and_not_stored(server):
    gunicorn, url, token = server
    body = answer("あ" * 40_000)  # 120 KB of UTF-8
    payload = json.dumps(body, ensure_ascii=False).encode()
    assert len(payload) > LIMIT
    status, content_type, text = post(gunicorn, "/api/v1/responses", payload, token)
    assert status == 413
    assert content_type == "application/json" and json.loads(text)["error"] == "リクエストが大きすぎます。"
    assert body["id"] not in count_by_uuid(url)


def test_small_chunked_answer_is_stored_whole(server):
    gunicorn, url, token = server
    body = answer("チャンクで届いた回答")
    status, _type, _text = post(gunicorn, "/api/v1/responses", json.dumps(body).encode(), token)
    assert status == 201
    assert count_by_uuid(url)[body["id"]] == 1


def test_oversized_chunked_form_post_is_413_in_japanese(server):
    gunicorn, _url, _token = server
    status, content_type, text = post(gunicorn, "/auth/login", b"username=" + b"a" * 100_000,
                                      content_type="application/x-www-form-urlencoded")
    assert status == 413
    assert content_type.startswith("text/html") and "送られた内容が大きすぎます" in text


@pytest.mark.parametrize("path", ["/api/v1/responses", "/api/v1/heartbeat"])
@pytest.mark.parametrize("chunked", [False, True])
def test_deeply_nested_json_is_422_in_json(server, path, chunked):
    gunicorn, url, token = server
    before = count_by_uuid(url)
    nested = "[" * 1000 + "]" * 1000
    payload = json.dumps({"id": str(uuid.uuid4()), "facility": FACILITY, "pending": 0, "rejected": 0,
                          "answers": {"satisfaction": 1, "establishment": 1}})[:-2] + f', "comment": {nested}}}}}'
    for body in (nested, payload):
        status, content_type, text = post(gunicorn, path, body.encode(), token, chunked=chunked)
        assert status == 422, (body[:40], text)
        assert content_type == "application/json" and json.loads(text)["error"]
    assert count_by_uuid(url) == before
