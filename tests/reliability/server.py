"""A real gunicorn server on loopback for load and fault tests, and a small HTTP client."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from survey_app import create_app
from survey_app.devices import complete_enrollment, create_device
from survey_app.extensions import db
from survey_app.facilities import load_shipped_facilities
from survey_app.models import Facility

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str, facility_codes: list[str]) -> dict[str, str]:
    """Migrate a database, load facilities, enroll one tablet per facility; return tokens."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test"})
    tokens = {}
    with app.app_context():
        upgrade()
        load_shipped_facilities()
        for code in facility_codes:
            facility = db.session.scalar(db.select(Facility).where(Facility.code == code))
            device, token, _ = create_device(facility, "load test")
            complete_enrollment(device)
            tokens[code] = token
        db.engine.dispose()
    return tokens


def enrollment_codes(url: str, facility_code: str, count: int) -> list[str]:
    """Create `count` tablets awaiting enrollment; return their one-time codes."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test"})
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == facility_code))
        codes = [create_device(facility, "race test")[2] for _ in range(count)]
        db.engine.dispose()
    return codes


def drop_database(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test"})
    with app.app_context():
        downgrade(revision="base")
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.engine.dispose()


def count_by_uuid(url: str) -> dict[str, int]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test"})
    with app.app_context():
        rows = db.session.execute(text("SELECT client_uuid, COUNT(*) FROM responses GROUP BY client_uuid")).all()
        db.engine.dispose()
    return dict(rows)


class GunicornServer:
    """`gunicorn 'survey_app:create_app()'` as production runs it, in its own process group."""

    def __init__(self, database_url: str, workers: int = 2, log_path: Path | None = None,
                 env: dict[str, str] | None = None):
        self.database_url = database_url
        self.workers = workers
        self.env = env or {}
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def start(self, timeout: float = 30) -> "GunicornServer":
        env = {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": "load-test",
               "SURVEY_RATE_LIMIT_PER_MINUTE": "0", **self.env}
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "5", "survey_app:create_app()"],
            env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _ = request(self.address, "GET", "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not become healthy")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: a power cut, as far as the app can tell."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def request(address, method: str, path: str, body: dict | None = None, token: str | None = None,
            connection: http.client.HTTPConnection | None = None, timeout: float = 30):
    """Send one request; return (status, parsed JSON or None)."""
    own = connection is None
    connection = connection or http.client.HTTPConnection(*address, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return reply.status, parsed
    finally:
        if own:
            connection.close()


def make_body(facility_code: str, index: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "facility": facility_code,
        "answers": {"satisfaction": 1 + index % 4, "establishment": 1 + index % 2,
                    "respondent_group": ["welfare", "youth", None][index % 3],
                    "services": ["job_search"] if index % 2 else [],
                    "comment": f"負荷試験のコメント{index}" if index % 5 == 0 else None},
    }
