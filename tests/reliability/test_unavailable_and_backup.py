"""The database locked or down gives 503 + Retry-After; backups of a live database are whole."""
import os
import sqlite3
import stat
import threading
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from survey_app import create_app
from survey_app.backup import backup_sqlite
from survey_app.extensions import db
from survey_app.health import database_unavailable
from survey_app.models import Response
from tests.conftest import FACILITY_CODE


def answer_body():
    return {"id": str(uuid.uuid4()), "facility": FACILITY_CODE,
            "answers": {"satisfaction": 1, "establishment": 1, "comment": "ロック中の回答"}}


def sqlite_path(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    return db.engine.url.database


def test_healthz_reports_a_working_database(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.get_json() == {"status": "ok", "database": "ok"}


def read_only_app(app):
    """A second app on the same database that may read but not write, also when run as root.

    (chmod does not stop root from writing a file: the connection itself is read-only.)
    """
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    if url.get_backend_name() == "sqlite":
        uri = f"sqlite:///file:{url.database}?mode=ro&uri=true"
    else:  # as on a hot standby
        uri = url.render_as_string(hide_password=False)
        options["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    return create_app({**app.config, "SQLALCHEMY_DATABASE_URI": uri, "SQLALCHEMY_ENGINE_OPTIONS": options})


def test_healthz_reports_a_database_that_cannot_be_written_as_unavailable(app):
    read_only = read_only_app(app)
    with read_only.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0  # it reads
        reply = read_only.test_client().get("/healthz")
        db.engine.dispose()
    assert reply.status_code == 503
    assert reply.get_json() == {"status": "unavailable", "database": "error"}
    assert int(reply.headers["Retry-After"]) > 0


def test_an_answer_to_a_database_that_cannot_be_written_gets_503_not_500(app, device):
    """A read-only SQLite file and a PostgreSQL hot standby both mean "try again later"."""
    read_only = read_only_app(app)
    with read_only.app_context():
        reply = read_only.test_client().post("/api/v1/responses", json=answer_body(),
                                             headers={"Authorization": f"Bearer {device['token']}"})
        db.engine.dispose()
    assert reply.status_code == 503, reply.get_data(as_text=True)
    assert int(reply.headers["Retry-After"]) > 0
    assert "error" in reply.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_the_unavailable_page_is_a_whole_page_of_the_site(app):
    with app.test_request_context("/f/x", headers={"Accept": "text/html"}):
        body, status, headers = database_unavailable(OperationalError("SELECT 1", {}, Exception()))
    assert status == 503 and int(headers["Retry-After"]) > 0
    assert 'lang="ja"' in body and "ただいま混み合っています" in body
    assert 'rel="stylesheet"' in body  # the site's layout, not the bare fallback


def test_locked_database_gets_503_with_retry_after_and_nothing_half_written(app, device):
    with app.app_context():
        path = sqlite_path(app)
    # A second app on the same file with a short busy timeout, so the test waits 0.2 s, not 5 s.
    impatient = create_app({**app.config, "SQLITE_BUSY_TIMEOUT_MS": 200})
    locker = sqlite3.connect(path, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        reply = impatient.test_client().post("/api/v1/responses", json=answer_body(),
                                             headers={"Authorization": f"Bearer {device['token']}"})
        assert reply.status_code == 503
        assert int(reply.headers["Retry-After"]) > 0
        assert "error" in reply.get_json()
    finally:
        locker.rollback()
        locker.close()
    with impatient.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        db.engine.dispose()


def test_unreachable_database_gets_503_not_500(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    client = app.test_client()
    reply = client.post("/api/v1/responses", json=answer_body(), headers={"Authorization": "Bearer x"})
    assert reply.status_code == 503 and reply.headers["Retry-After"]
    assert client.get("/healthz").status_code == 503
    page = client.get("/api/v1/facilities")
    assert page.status_code == 503


def test_backup_of_a_live_database_holds_every_committed_row(app, client, device, runner, tmp_path):
    with app.app_context():
        path = sqlite_path(app)
    headers = {"Authorization": f"Bearer {device['token']}"}
    for _ in range(200):
        assert client.post("/api/v1/responses", json=answer_body(), headers=headers).status_code == 201

    # Keep writing from another connection while the backup copies pages.
    stop = threading.Event()
    written = []

    def writer():
        connection = sqlite3.connect(path, timeout=30)
        while not stop.is_set():
            connection.execute("INSERT INTO audit_events (occurred_at, action, target) VALUES (datetime('now'), 'load', '')")
            connection.commit()
            written.append(1)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        target = tmp_path / "backup" / "copy.sqlite3"
        result = runner.invoke(args=["backup", str(target)])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert written, "the writer never ran during the backup"

    restored = sqlite3.connect(target)
    assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    original = sqlite3.connect(path)
    query = "SELECT client_uuid, satisfaction, comment, content_hash FROM responses ORDER BY client_uuid"
    assert restored.execute(query).fetchall() == original.execute(query).fetchall()
    assert len(restored.execute(query).fetchall()) == 200
    assert restored.execute("SELECT COUNT(*) FROM facilities").fetchone() == original.execute(
        "SELECT COUNT(*) FROM facilities").fetchone()
    assert not (tmp_path / "backup" / "copy.sqlite3.partial").exists()


def test_backup_refuses_non_sqlite(runner, app, tmp_path):
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://x@127.0.0.1:1/y"
    result = runner.invoke(args=["backup", str(tmp_path / "x.sqlite3")])
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_backup_function_copies_a_plain_file(tmp_path):
    source = tmp_path / "s.sqlite3"
    connection = sqlite3.connect(source)
    connection.execute("CREATE TABLE t (x)")
    connection.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
    connection.commit()
    pages = backup_sqlite(source, tmp_path / "t.sqlite3")
    assert pages > 0
    assert sqlite3.connect(tmp_path / "t.sqlite3").execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1000


def test_backup_copy_is_readable_by_its_owner_only(app, tmp_path):
    with app.app_context():
        source = sqlite_path(app)
    previous = os.umask(0o022)  # the common umask, under which files are world-readable
    try:
        backup_sqlite(source, tmp_path / "backups" / "copy.sqlite3")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "backups" / "copy.sqlite3").stat().st_mode) == 0o600
