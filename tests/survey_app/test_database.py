"""Database set-up: migrations, SQLite pragmas, DATABASE_URL override, time helpers."""
import os
import sqlite3
import stat
from datetime import date, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

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



def test_theme_id_migration_keeps_the_stored_runs(app):
    """0012 renames themes.code and the theme_code columns to theme_id, rows and keys kept."""
    with app.app_context():
        db.drop_all()
        upgrade(revision="0007")
        facility_id = db.session.execute(text(
            "INSERT INTO facilities (code, name, prefecture, municipality, operator_kind, "
            "start_fiscal_year, target_groups) VALUES ('f', '施設', '東京都', '千代田区', 'municipal', "
            "2012, '[]') RETURNING id")).scalar_one()
        response_id = db.session.execute(text(
            "INSERT INTO responses (client_uuid, facility_id, form_version, source, submitted_at, "
            "received_at, fiscal_year, satisfaction, establishment, services, comment, content_hash) "
            "VALUES ('u', :facility, 1, 'api', '2024-06-01 01:00:00', '2024-06-01 01:00:00', 2024, 1, "
            "1, '[]', '待ち時間が長い', :hash) RETURNING id"),
            {"facility": facility_id, "hash": "0" * 64}).scalar_one()
        run_id = db.session.execute(text(
            "INSERT INTO analysis_runs (started_at, status, parameters, versions, n_responses, "
            "n_comments, n_themes) VALUES ('2024-06-02 00:00:00', 'complete', '{}', '{}', 1, 1, 1) "
            "RETURNING id")).scalar_one()
        db.session.execute(text(
            "INSERT INTO themes (run_id, code, label, source, size, words, representative_response_ids) "
            "VALUES (:run, 'T04', '待ち時間', 'catalog', 1, '[]', '[]')"), {"run": run_id})
        db.session.execute(text(
            "INSERT INTO response_themes (run_id, response_id, theme_code, score, source) "
            "VALUES (:run, :response, 'T04', 0.9, 'catalog')"), {"run": run_id, "response": response_id})
        db.session.execute(text(
            "INSERT INTO theme_mentions (run_id, response_id, theme_code, polarity, score, span_start, "
            "span_end, rank) VALUES (:run, :response, 'T04', 'request', 0.9, 0, 7, 0)"),
            {"run": run_id, "response": response_id})
        db.session.commit()
        upgrade()
        assert db.session.execute(text(
            "SELECT t.theme_id, t.label, rt.theme_id, m.theme_id FROM themes t "
            "JOIN response_themes rt ON rt.run_id = t.run_id AND rt.theme_id = t.theme_id "
            "JOIN theme_mentions m ON m.run_id = rt.run_id AND m.response_id = rt.response_id")).all() \
            == [("T04", "待ち時間", "T04", "T04")]
        inspector = inspect(db.engine)
        assert inspector.get_pk_constraint("theme_mentions")["constrained_columns"] == [
            "run_id", "response_id", "theme_id"]
        assert [u["column_names"] for u in inspector.get_unique_constraints("themes")] == [
            ["run_id", "theme_id"]]
        # The keys still hold: a second T04 row for the run is refused.
        with pytest.raises(IntegrityError):
            db.session.execute(text(
                "INSERT INTO themes (run_id, theme_id, label, source, size, words, "
                "representative_response_ids) VALUES (:run, 'T04', 'x', 'catalog', 0, '[]', '[]')"),
                {"run": run_id})
        db.session.rollback()
        downgrade(revision="0007")
        assert "code" in {c["name"] for c in inspect(db.engine).get_columns("themes")}
        upgrade()
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()
