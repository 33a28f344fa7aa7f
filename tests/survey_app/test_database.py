"""Database set-up: migrations, SQLite pragmas, DATABASE_URL override, time helpers."""
import os
import sqlite3
import stat
from datetime import date, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from survey_app import create_app
from survey_app.db import normalize_database_url
from survey_app.extensions import db
from survey_app.facilities import load_shipped_facilities
from survey_app.timeutil import fiscal_year_of, fiscal_year_label, fiscal_year_of_utc, to_tokyo


def test_migrations_build_the_schema_the_models_describe(app):
    with app.app_context():
        db.drop_all()
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    with app.app_context(), db.engine.connect() as connection:
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_database_url_environment_variable_overrides_the_instance_file(monkeypatch, tmp_path):
    target = tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{target}"
    with app.app_context():
        db.create_all()
    assert target.exists()


def test_default_database_lives_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///" + app.instance_path)


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
    ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_postgres_urls_use_psycopg3(url, expected):
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("day, fiscal_year", [
    (date(2012, 4, 1), 2012), (date(2013, 3, 31), 2012), (date(2013, 1, 25), 2012), (date(2012, 3, 31), 2011),
])
def test_fiscal_year_runs_april_to_march(day, fiscal_year):
    assert fiscal_year_of(day) == fiscal_year


def test_fiscal_year_is_judged_on_the_tokyo_calendar():
    just_after_midnight_april_first_tokyo = datetime(2025, 3, 31, 15, 30)  # UTC
    assert to_tokyo(just_after_midnight_april_first_tokyo).day == 1
    assert fiscal_year_of_utc(just_after_midnight_april_first_tokyo) == 2025


def test_fiscal_year_label_names_the_era():
    assert fiscal_year_label(2012) == "2012年度（平成24年度）"
    assert fiscal_year_label(2025) == "2025年度（令和7年度）"


@pytest.fixture
def world_readable_umask():
    """The common umask 022, under which files are created readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_sqlite_database_and_its_wal_files_are_created_owner_only(monkeypatch, tmp_path, world_readable_umask):
    target = tmp_path / "survey.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    app = create_app()
    with app.app_context():
        db.create_all()
        load_shipped_facilities()  # a write, so that SQLite creates -wal and -shm
        files = [target, tmp_path / "survey.sqlite3-wal", tmp_path / "survey.sqlite3-shm"]
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}
        db.engine.dispose()
    assert modes == {path.name: 0o600 for path in files}


def test_an_existing_database_file_keeps_its_mode(monkeypatch, tmp_path, world_readable_umask):
    target = tmp_path / "shared.sqlite3"
    sqlite3.connect(target).close()
    target.chmod(0o640)  # the operator's choice, e.g. readable by a backup group
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    app = create_app()
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640

