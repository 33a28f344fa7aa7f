"""Fixtures for the report tests: users logged in through the real login form, a known dataset.

Import the fixtures into a test module with ``from .reports_fixtures import *``.
"""
import hashlib
import re
import uuid
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from werkzeug.security import generate_password_hash

from survey_app.extensions import db
from survey_app.models import AnalysisRun, Facility, Response, ResponseTheme, Theme, User

from ..conftest import FACILITY_CODE, OTHER_FACILITY_CODE

PASSWORD = "correct horse battery staple"
FISCAL_YEAR = 2024
SMALL_FACILITY_CODE = "job-station-gifu"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'
PII_COMMENT = "担当の佐藤さんが親切でした。電話 090-1234-5678、mail sato@example.jp"
FORMULA_COMMENT = "=HYPERLINK(\"http://example.com\",\"x\") 相談員さんに感謝"

__all__ = [
    "FISCAL_YEAR", "FORMULA_COMMENT", "PASSWORD", "PII_COMMENT", "SMALL_FACILITY_CODE", "XSS_IMG",
    "XSS_SCRIPT", "admin_client", "analyst_client", "data_elements", "insert_known_data",
    "known_data", "login",
    "logged_in", "make_user", "manager_client", "other_manager_client", "FACILITY_CODE",
    "OTHER_FACILITY_CODE",
]


def make_user(app, username: str, role: str, facility_codes=()) -> int:
    """Create a user directly in the database; return its id."""
    with app.app_context():
        facilities = list(db.session.scalars(db.select(Facility).where(Facility.code.in_(facility_codes))))
        user = User(username=username, role=role, facilities=facilities,
                    password_hash=generate_password_hash(PASSWORD, method="scrypt"))
        db.session.add(user)
        db.session.commit()
        return user.id


def login(client, username: str, password: str = PASSWORD):
    """Log in through the real /auth/login form (with its CSRF token)."""
    page = client.get("/auth/login").get_data(as_text=True)
    match = CSRF_PATTERN.search(page)
    assert match, "login page has no CSRF token"
    token = match.group(1) or match.group(2)
    response = client.post("/auth/login", data={"username": username, "password": password,
                                                "csrf_token": token})
    assert response.status_code in (302, 303), f"login failed for {username}: {response.status_code}"
    return client


def logged_in(app, username: str, role: str, facility_codes=()):
    make_user(app, username, role, facility_codes)
    return login(app.test_client(), username)


@pytest.fixture
def admin_client(app):
    return logged_in(app, "admin-user", "admin")


@pytest.fixture
def analyst_client(app):
    return logged_in(app, "analyst-user", "analyst")


@pytest.fixture
def manager_client(app):
    """A manager of FACILITY_CODE (川口) only."""
    return logged_in(app, "manager-a", "manager", [FACILITY_CODE])


@pytest.fixture
def other_manager_client(app):
    """A manager of OTHER_FACILITY_CODE (青森) only."""
    return logged_in(app, "manager-b", "manager", [OTHER_FACILITY_CODE])


def _tokyo_to_utc(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute) - timedelta(hours=9)


def _response(facility_id: int, submitted_at: datetime, satisfaction: int, establishment: int,
              group: str | None, comment: str | None) -> Response:
    return Response(
        client_uuid=str(uuid.uuid4()), facility_id=facility_id, form_version=1, channel="api",
        submitted_at=submitted_at, received_at=submitted_at, fiscal_year=FISCAL_YEAR,
        satisfaction=satisfaction, establishment=establishment, respondent_group=group,
        services=["job_consultation"], comment=comment,
        content_hash=hashlib.sha256(str(uuid.uuid4()).encode()).hexdigest())


# Facility A (川口): 64 answers over 5 months, 52 of them with a comment (two pages of comments
# at 50 a page), a mix of ratings and groups, one month with only 4 answers (suppressed).
A_PLAN = [
    # (Tokyo month, day, satisfaction, establishment, group, comment or None)
    *[((2024, 4), 1 + i % 28, (1, 1, 2, 2, 3)[i % 5], (1, 2, 1, 2, 4)[i % 5],
       ("welfare", "youth", None)[i % 3], f"四月の意見{i}：相談が丁寧でした") for i in range(15)],
    *[((2024, 5), 1 + i % 28, (1, 2, 2, 4)[i % 4], (1, 1, 2, 3)[i % 4],
       ("welfare", "disability")[i % 2], f"五月の意見{i}：求人検索端末を増設してほしい" if i % 2 else None)
      for i in range(16)],
    *[((2024, 8), 3 + i, (1, 2, 3, 1)[i % 4], 1, "parenting", f"八月の意見{i}：休日の午前中も開庁してほしい")
      for i in range(4)],
    *[((2025, 1), 5 + i % 20, (1, 1, 1, 2, 2, 3)[i % 6], (1, 2)[i % 2], ("youth", "middle_aged")[i % 2],
       f"一月の意見{i}：待ち時間が長い" if i % 3 else None) for i in range(18)],
    # 2025-03-31 23:30 in Tokyo is still fiscal 2024 (March); 2025-03-31 15:00 UTC is April 1st.
    *[((2025, 3), 31, (1, 2, 1)[i % 3], 1, "other", f"三月の意見{i}：ワンストップで助かります") for i in range(11)],
]


@pytest.fixture
def known_data(app):
    """A known set of responses in fiscal 2024, with a complete theme run; returns ids and counts."""
    return insert_known_data(app)


def insert_known_data(app) -> dict:
    """Insert the known dataset into `app`'s database (also used by the browser tests)."""
    with app.app_context():
        codes = {f.code: f for f in db.session.scalars(db.select(Facility))}
        a, b, small = codes[FACILITY_CODE], codes[OTHER_FACILITY_CODE], codes[SMALL_FACILITY_CODE]
        rows: list[Response] = []
        for (year, month), day, satisfaction, establishment, group, comment in A_PLAN:
            hour = 23 if (year, month, day) == (2025, 3, 31) else 10
            rows.append(_response(a.id, _tokyo_to_utc(year, month, day, hour, 30), satisfaction,
                                  establishment, group, comment))
        specials = [
            _response(a.id, _tokyo_to_utc(2024, 6, 10), 1, 1, "welfare", PII_COMMENT),
            _response(a.id, _tokyo_to_utc(2024, 6, 11), 3, 2, "welfare", f"{XSS_SCRIPT} と {XSS_IMG} 100%満足_です"),
            _response(a.id, _tokyo_to_utc(2024, 6, 12), 2, 1, None, FORMULA_COMMENT),
        ]
        rows.extend(specials)
        # Facility B (青森): 30 answers, all satisfied but 2 → 93.3%.
        for i in range(30):
            rows.append(_response(b.id, _tokyo_to_utc(2024, 7 + i % 3, 1 + i), 4 if i < 2 else 1 + i % 2,
                                  1, "youth", "青森の職員さんはとても親切でした" if i % 5 == 0 else None))
        # A small facility: 6 answers → 「回答数不足」.
        for i in range(6):
            rows.append(_response(small.id, _tokyo_to_utc(2024, 9, 1 + i), 1, 1, "youth", None))
        # Another fiscal year, which must not count in fiscal 2024.
        other_year = _response(a.id, _tokyo_to_utc(2025, 4, 2), 4, 4, "youth", "翌年度の意見")
        other_year.fiscal_year = 2025
        rows.append(other_year)
        db.session.add_all(rows)
        db.session.flush()

        run = AnalysisRun(status="complete", finished_at=datetime(2025, 4, 5), n_responses=len(rows))
        db.session.add(run)
        db.session.flush()
        themes = {
            "T01": "丁寧な相談への評価", "T02": "求人検索端末の増設", "T03": "開庁時間の拡大",
            "T04": "待ち時間", "T05": "ワンストップの便利さ",
        }
        keyword_theme = {"相談が丁寧": "T01", "端末": "T02", "開庁": "T03", "待ち時間": "T04",
                         "ワンストップ": "T05", "親切": "T01", "満足_": "T01", "感謝": "T01"}
        assignments = []
        for response in rows:
            code = None
            if response.comment:
                code = next((t for word, t in keyword_theme.items() if word in response.comment), "T01")
            assignments.append(ResponseTheme(run_id=run.id, response_id=response.id, theme_id=code,
                                             score=0.5 if code else None,
                                             source="catalog" if code else "no_comment"))
        db.session.add_all(assignments)
        representative = {code: [r.id for r, t in zip(rows, assignments) if t.theme_id == code][:3]
                          for code in themes}
        for code, label in themes.items():
            db.session.add(Theme(run_id=run.id, theme_id=code, label=label, source="catalog",
                                 size=sum(1 for t in assignments if t.theme_id == code),
                                 words=[label[:2]], representative_response_ids=representative[code]))
        db.session.commit()
        return {
            "run_id": run.id,
            "pii_id": specials[0].id,
            "xss_id": specials[1].id,
            "formula_id": specials[2].id,
            "a_comments": sum(1 for r in rows if r.facility_id == a.id and r.comment and r.fiscal_year == FISCAL_YEAR),
        }


class _DataCollector(HTMLParser):
    def __init__(self, attribute: str):
        super().__init__()
        self.attribute = attribute
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if self.attribute in values:
            self.found.append(values)


def data_elements(html: str, attribute: str) -> list[dict]:
    """Return the attributes of every element that has `attribute` (e.g. "data-facility")."""
    collector = _DataCollector(attribute)
    collector.feed(html)
    return collector.found
