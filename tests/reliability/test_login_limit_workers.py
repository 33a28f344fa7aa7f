"""The per-address login limit holds across gunicorn workers (SQLite and PostgreSQL).

Each worker used to count failures in its own memory, so with 2 workers 30–40 failures from
one address were processed before the first 429 instead of 20.
"""
import http.client
import os
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import LoginAttempt
from tests.reliability.server import GunicornServer, drop_database, prepare_database

pytestmark = pytest.mark.database

LIMIT = 20  # LOGIN_IP_MAX_FAILURES, as SECURITY.md promises
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def server(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'logins.sqlite3'}"
    prepare_database(url, [])
    gunicorn = GunicornServer(url, workers=2, log_path=tmp_path / "gunicorn.log").start()
    yield gunicorn
    gunicorn.stop()
    drop_database(url)


def failed_login(address, name: str) -> int:
    """Log in as a made-up user with a wrong password, as a browser does; return the status."""
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.request("GET", "/auth/login")
        page = connection.getresponse()
        token = TOKEN.search(page.read().decode()).group(1)
        cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    finally:
        connection.close()
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        # Another name each time: the per-username lock never applies, only the address limit.
        connection.request("POST", "/auth/login",
                           body=urlencode({"username": name, "password": "wrong-password-1",
                                           "csrf_token": token}),
                           headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        reply = connection.getresponse()
        reply.read()
        return reply.status
    finally:
        connection.close()


def stored_attempts(url: str) -> int:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test"})
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count()).select_from(LoginAttempt))
        db.engine.dispose()
    return count


def test_the_21st_failure_from_one_address_gets_429_with_two_workers(server):
    statuses = [failed_login(server.address, f"guess-{i}") for i in range(LIMIT + 5)]
    assert statuses == [200] * LIMIT + [429] * 5
    assert stored_attempts(server.database_url) == LIMIT  # refused attempts are not stored


def test_parallel_guesses_cannot_slip_past_the_limit(server):
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: failed_login(server.address, f"guess-{i}"), range(2 * LIMIT)))
    # An attempt is stored before its password is checked, so at most LIMIT are processed.
    assert 0 < statuses.count(200) <= LIMIT
    assert statuses.count(429) == 2 * LIMIT - statuses.count(200)
    assert failed_login(server.address, "one-more") == 429
