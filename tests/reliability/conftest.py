"""Reliability fixtures: a migrated database for a real gunicorn, SQLite unless told otherwise."""
import os

import pytest

from tests.reliability.server import drop_database


@pytest.fixture
def database_url(tmp_path):
    """SQLite in tmp_path, or PostgreSQL when TEST_DATABASE_URL is set (scripts/with-postgres)."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'load.sqlite3'}"
    yield url
    drop_database(url)
