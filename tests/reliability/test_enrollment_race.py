"""A one-time enrollment link enrolls exactly one browser, however many post it at once.

Eight browsers open the same link, then all post it at the same moment to a real gunicorn with
several workers, on SQLite and (TEST_DATABASE_URL) PostgreSQL.
"""
import http.client
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from http.cookies import SimpleCookie

import pytest

from tests.reliability.server import GunicornServer, enrollment_codes, prepare_database

pytestmark = pytest.mark.database

FACILITY = "kawaguchi-employment-support-corner"
BROWSERS = 8
# The race is a matter of timing: several links, each posted by every browser at once.
ROUNDS = 5


class Browser:
    """One browser's keep-alive connection and cookie jar, enough for the enrollment form."""

    def __init__(self, address):
        self.connection = http.client.HTTPConnection(*address, timeout=30)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = "&".join(f"{k}={v}" for k, v in form.items())
        self.connection.request(method, path, body=body, headers=headers)
        reply = self.connection.getresponse()
        text = reply.read().decode("utf-8")
        for header in reply.headers.get_all("Set-Cookie") or []:
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
        return reply, text

    def open_link(self, code: str) -> str:
        """GET the enrollment page; return its CSRF token."""
        reply, text = self.send("GET", f"/enroll/{code}")
        assert reply.status == 200
        return unescape(re.search(r'name="csrf_token" value="([^"]*)"', text).group(1))


def post_all_at_once(browsers: list[Browser], code: str) -> list[tuple[int, str, str]]:
    """Every browser posts the link's form at the same moment; return (status, Location, body)."""
    tokens = [browser.open_link(code) for browser in browsers]
    start = threading.Barrier(len(browsers))

    def post(index: int):
        start.wait()
        reply, text = browsers[index].send("POST", f"/enroll/{code}", {"csrf_token": tokens[index]})
        return reply.status, reply.headers.get("Location", ""), text

    with ThreadPoolExecutor(len(browsers)) as pool:
        return list(pool.map(post, range(len(browsers))))


def test_concurrent_posts_of_one_enrollment_link_enroll_exactly_one_browser(database_url, tmp_path):
    prepare_database(database_url, [])
    codes = enrollment_codes(database_url, FACILITY, ROUNDS)
    server = GunicornServer(database_url, workers=4, log_path=tmp_path / "gunicorn.log").start()
    try:
        for code in codes:
            browsers = [Browser(server.address) for _ in range(BROWSERS)]
            outcomes = post_all_at_once(browsers, code)
            statuses = Counter(status for status, _location, _text in outcomes)
            assert statuses == {303: 1, 404: BROWSERS - 1}, statuses

            winner, (_status, location, _text) = next(
                (browser, outcome) for browser, outcome in zip(browsers, outcomes) if outcome[0] == 303)
            assert location == f"/f/{FACILITY}"
            assert "survey_device" in winner.cookies
            assert winner.send("GET", f"/f/{FACILITY}")[0].status == 200
            for browser, (status, _location, text) in zip(browsers, outcomes):
                if status == 404:
                    assert "この登録用のアドレスは使えません" in text
                    assert "survey_device" not in browser.cookies
                    assert browser.send("GET", f"/f/{FACILITY}")[0].status == 403
    finally:
        server.stop()
