"""Shared fixtures: an app on a fresh database per test, a facility and enrolled tablets.

Tests run on SQLite by default; set TEST_DATABASE_URL to run the same tests on PostgreSQL.
"""
import os
from pathlib import Path

import pytest

from survey_app import create_app
from survey_app.devices import complete_enrollment, create_device, device_cookie_value
from survey_app.extensions import db
from survey_app.facilities import load_shipped_facilities
from survey_app.models import Facility

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
DEV_COMMENTS_CSV = SHARED_DIR / "data" / "dev_comments.csv"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    """On a PostgreSQL run, keep only the database-facing tests (those using `app`)."""
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    selected = [item for item in items
                if "app" in getattr(item, "fixturenames", ()) or item.get_closest_marker("database")]
    config.hook.pytest_deselected(items=[item for item in items if item not in selected])
    items[:] = selected


def database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture(scope="session", autouse=True)
def _analysis_cache(tmp_path_factory):
    """Fitted catalog models and sentence vectors go to this session's directory, not ~/.cache."""
    from analysis.catalog import CACHE_ENV

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("analysis-cache")))
        yield


@pytest.fixture(autouse=True)
def _published_catalog_file(tmp_path, monkeypatch):
    """Keep every test's published catalog file (which `survey-analysis run` reads) in its tmp_path."""
    monkeypatch.setenv("SURVEY_CATALOG_FILE", str(tmp_path / "published-catalog.json"))


@pytest.fixture
def app(tmp_path):
    app = create_app({
        "CATALOG_FILE": str(tmp_path / "published-catalog.json"),
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "SURVEY_RATE_LIMIT_PER_MINUTE": 1000,
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_shipped_facilities()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


FACILITY_CODE = "kawaguchi-employment-support-corner"
OTHER_FACILITY_CODE = "aomori-young-job-plaza"


def enroll(app, facility_code: str) -> dict:
    """Create and enroll a tablet; return its id, API token and browser cookie."""
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == facility_code))
        device, token, _code = create_device(facility, "test tablet")
        complete_enrollment(device)
        return {"id": device.id, "token": token, "cookie": device_cookie_value(device),
                "facility": facility_code}


@pytest.fixture
def device(app):
    return enroll(app, FACILITY_CODE)


@pytest.fixture
def other_device(app):
    return enroll(app, OTHER_FACILITY_CODE)
