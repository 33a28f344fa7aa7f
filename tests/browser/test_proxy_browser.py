"""The tablet behind a real TLS-terminating nginx in front of gunicorn with 2 workers.

nginx runs the `server` block from README.md (only its listen address, certificate and
upstream port changed), with a self-signed certificate made for the test. Chromium reaches
https://127.0.0.1:<port>, so the browser's origin differs from the upstream's
http://127.0.0.1:<gunicorn port>: exactly what the app has to see through on a real server.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from survey_app import create_app
from survey_app.devices import complete_enrollment, create_device, device_cookie_value
from survey_app.extensions import db
from survey_app.models import Facility, Response

from ..conftest import FACILITY_CODE, REPO_ROOT
from ..reliability.server import GunicornServer, free_port, prepare_database
from .conftest import collect_csp_violations
from .test_offline_browser import answer

pytestmark = pytest.mark.browser

NGINX = Path("/usr/sbin/nginx")
OPENSSL = Path("/usr/bin/openssl")
SECRET_KEY = "load-test"  # GunicornServer's
# Short kiosk and retry timings keep the test fast; the logic is the same as in production.
FAST_ENV = {"KIOSK_THANKS_SECONDS": "1", "SURVEY_SYNC_RETRY_MIN_SECONDS": "0.5",
            "SURVEY_SYNC_RETRY_MAX_SECONDS": "2"}


def readme_server_block() -> str:
    """Return the nginx `server` block that README.md tells users to copy."""
    match = re.search(r"```nginx\n(server \{.*?\n\})\n```", (REPO_ROOT / "README.md").read_text(), re.S)
    assert match, "README.md has no ```nginx server block"
    return match.group(1)


def nginx_config(prefix: Path, port: int, upstream_port: int, cert: Path, key: Path) -> str:
    """Return a whole nginx.conf around the README's server block, for this loopback test."""
    block = readme_server_block()
    for pattern, value in ((r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
                           (r"ssl_certificate \S+;", f"ssl_certificate {cert};"),
                           (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
                           (r"proxy_pass http://127\.0\.0\.1:8000;", f"proxy_pass http://127.0.0.1:{upstream_port};")):
        block, count = re.subn(pattern, value, block)
        assert count == 1, f"README's nginx block has no single {pattern!r}"
    temp_paths = "\n".join(f"    {name}_temp_path {prefix / name};"
                           for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{'user root;' if os.geteuid() == 0 else ''}
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix / 'access.log'};
{temp_paths}
{block}
}}
"""


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([str(OPENSSL), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


class Nginx:
    """nginx in the foreground, in its own process group, on a free loopback port."""

    def __init__(self, prefix: Path, upstream_port: int):
        self.prefix = prefix
        self.port = free_port()
        cert, key = self_signed_certificate(prefix)
        self.config = prefix / "nginx.conf"
        self.config.write_text(nginx_config(prefix, self.port, upstream_port, cert, key))
        self.process = None

    def start(self, timeout: float = 15) -> "Nginx":
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(self.prefix), "-c", str(self.config), "-e", str(self.prefix / "error.log"),
             "-g", "daemon off;"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw, \
                        context.wrap_socket(raw):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


@dataclass
class ProxiedServer:
    url: str  # what the browser opens: https://127.0.0.1:<nginx port>
    database_url: str
    gunicorn_log: Path

    def _app(self):
        return create_app({"SQLALCHEMY_DATABASE_URI": self.database_url, "SECRET_KEY": SECRET_KEY})

    def enrollment_url(self) -> str:
        app = self._app()
        with app.app_context():
            facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
            _device, _token, code = create_device(facility, "nginx test")
            db.engine.dispose()
        return f"{self.url}/enroll/{code}"

    def enrolled_device_cookie(self) -> str:
        """Enroll a tablet on the server side; return its cookie value (as a browser would hold it)."""
        app = self._app()
        with app.app_context():
            facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
            device, _token, _code = create_device(facility, "nginx test")
            complete_enrollment(device)
            value = device_cookie_value(device)
            db.engine.dispose()
        return value

    def stored(self) -> list[tuple[str, str, str | None]]:
        app = self._app()
        with app.app_context():
            rows = db.session.execute(select(Response.client_uuid, Response.channel, Response.comment)
                                      .order_by(Response.id)).all()
            db.engine.dispose()
        return [tuple(row) for row in rows]


@pytest.fixture
def proxied_server(tmp_path):
    """Return a factory: proxied_server(trusted_proxies) -> ProxiedServer (nginx -> gunicorn)."""
    if not NGINX.exists() or not OPENSSL.exists():
        pytest.skip("Debian nginx and openssl are needed (make system-deps)")
    running = []

    def start(trusted_proxies: bool) -> ProxiedServer:
        database_url = f"sqlite:///{tmp_path / 'proxied.sqlite3'}"
        prepare_database(database_url, [])
        env = {**FAST_ENV, **({"SURVEY_TRUSTED_PROXIES": "1"} if trusted_proxies else {})}
        gunicorn = GunicornServer(database_url, workers=2, log_path=tmp_path / "gunicorn.log", env=env)
        running.append(gunicorn.start())
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        running.append(Nginx(prefix, gunicorn.port).start())
        return ProxiedServer(f"https://127.0.0.1:{running[-1].port}", database_url, tmp_path / "gunicorn.log")

    yield start
    for server in reversed(running):
        server.stop()


def queue_status(page) -> dict:
    return page.evaluate("""() => window.SurveyOffline.status().then(s => ({
        pending: s.pending, rejected: s.rejected.map(r => r.reason.status)}))""")


def wait_for(predicate, page, timeout_ms: int = 15_000):
    for _ in range(timeout_ms // 100):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError("timed out")


def test_the_tablet_behind_nginx_stores_each_answer_once_by_form_and_by_queue(proxied_server, new_context):
    server = proxied_server(trusted_proxies=True)
    page = new_context(ignore_https_errors=True).new_page()
    csp_violations = collect_csp_violations(page)
    page.goto(server.enrollment_url())
    page.get_by_role("button", name="登録する").tap()
    page.wait_for_url(f"{server.url}/f/{FACILITY_CODE}")
    device_cookie = next(c for c in page.context.cookies() if c["name"] == "survey_device")
    assert device_cookie["secure"] and device_cookie["httpOnly"]  # HTTPS, as nginx reported it

    # The form's own POST (the Referer check of CSRF on HTTPS sees the public origin).
    answer(page, "満足", "受付の方が親切でした")
    page.wait_for_url(f"{server.url}/f/{FACILITY_CODE}", timeout=5_000)

    # The queue's API call (the same-origin check sees https://127.0.0.1:<nginx port>): the
    # form POST is cut off, so the answer waits in the queue and is sent through the API.
    page.route(f"**/f/{FACILITY_CODE}", lambda route: route.abort() if route.request.method == "POST"
               else route.continue_())
    answer(page, "まあ満足", "待ち時間が少し長かった")
    wait_for(lambda: len(server.stored()) >= 2, page)
    page.wait_for_url(f"{server.url}/f/{FACILITY_CODE}", timeout=5_000)
    wait_for(lambda: queue_status(page) == {"pending": 0, "rejected": []}, page)

    stored = server.stored()
    assert [(channel, comment) for _uuid, channel, comment in stored] == [
        ("tablet", "受付の方が親切でした"), ("api", "待ち時間が少し長かった")]
    assert len({uuid for uuid, _channel, _comment in stored}) == 2
    assert csp_violations == []


def test_without_trusted_proxies_the_tablet_behind_nginx_is_refused(proxied_server, new_context):
    """What an operator sees who forgets SURVEY_TRUSTED_PROXIES (nginx on a port other than 443).

    The app sees the Host `127.0.0.1` (nginx's $host, without the port) and ignores the
    forwarded port, so the browser's https://127.0.0.1:<port> is another site to it:
    - enrolling the tablet is refused visibly (the CSRF Referer check, 400 「もう一度お願いします」);
    - a tablet enrolled anyway (its cookie) shows the form, but its POST is refused the same
      way, the queue's API call gets 401 (origin mismatch) and the answer is set aside as
      refused: the staff view lists it with status 401, and nothing is stored;
    - gunicorn's log says once which setting is missing.
    """
    server = proxied_server(trusted_proxies=False)
    context = new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(server.enrollment_url())
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="登録する").tap()
    assert refused.value.status == 400
    assert "もう一度お願いします" in page.locator("h1").inner_text()
    assert not any(c["name"] == "survey_device" for c in context.cookies())

    context.add_cookies([{"name": "survey_device", "value": server.enrolled_device_cookie(),
                          "url": server.url, "httpOnly": True, "secure": True, "sameSite": "Lax"}])
    page.goto(f"{server.url}/f/{FACILITY_CODE}")
    answer(page, "満足", "受付の方が親切でした")
    wait_for(lambda: queue_status(page)["rejected"] == [401], page)
    assert server.stored() == []
    assert "SURVEY_TRUSTED_PROXIES" in server.gunicorn_log.read_text()
