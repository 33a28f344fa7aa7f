"""Yearly targets (年度目標) on the report pages and in the exports, next to satisfaction."""
import csv
import io

import pytest
from openpyxl import load_workbook

from survey_app.demo_targets import DEMO_NOTE, load_demo_targets
from survey_app.extensions import db
from survey_app.models import Facility, Target
from survey_app.targets.importer import load_shipped_targets

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import FACILITY_CODE, FISCAL_YEAR, OTHER_FACILITY_CODE, data_elements

SEED_YEAR = 2012


def add_targets(app, code: str, fiscal_year: int, pairs) -> None:
    """Store (name, target, result) triples for one facility and year."""
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == code))
        for number, (name, target, result) in enumerate(pairs):
            db.session.add(Target(facility=facility, fiscal_year=fiscal_year, indicator_key=f"k{number}",
                                  indicator_name=name, kind="count", unit="人", direction="higher",
                                  target=target, result=result))
        db.session.commit()


@pytest.fixture
def seed_targets(app):
    with app.app_context():
        load_shipped_targets()


def test_overview_shows_each_facilitys_status_and_the_seed_summary(admin_client, seed_targets):
    html = admin_client.get(f"/reports/?fy={SEED_YEAR}").get_data(as_text=True)
    statuses = {row["data-facility"]: row for row in data_elements(html, "data-facility")}
    cells = {cell["data-target-status"] for cell in data_elements(html, "data-target-status")}
    assert {"achieved", "partly", "not_achieved"} <= cells
    # 川口市: 就職317人 vs 目標80人, 紹介就職277 vs 55, セミナー2 vs 2 → 達成.
    assert FACILITY_CODE in statuses
    summary = data_elements(html, "data-summary")
    assert any(item["data-summary"] == "targets" for item in summary)
    assert "年度目標：達成 6施設・一部達成 2施設・未達成 1施設" in html


def test_facility_page_lists_targets_results_and_marks(app, manager_client, seed_targets):
    html = manager_client.get(f"/reports/{FACILITY_CODE}?fy={SEED_YEAR}").get_data(as_text=True)
    section = data_elements(html, "data-status")
    assert section[0]["data-status"] == "達成"
    assert [row["data-met"] for row in data_elements(html, "data-met")] == ["true", "true", "true"]
    assert "就職者数" in html and "317人" in html and "80人以上" in html


def test_facility_page_judges_partly_and_pending(app, manager_client, known_data):
    add_targets(app, FACILITY_CODE, FISCAL_YEAR, [("就職者数", 100, 120), ("相談件数", 500, 420)])
    html = manager_client.get(f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}").get_data(as_text=True)
    assert data_elements(html, "data-status")[0]["data-status"] == "一部達成"
    assert [row["data-met"] for row in data_elements(html, "data-met")] == ["true", "false"]

    add_targets(app, FACILITY_CODE, FISCAL_YEAR + 1, [("就職者数", 100, None)])
    html = manager_client.get(f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR + 1}").get_data(as_text=True)
    assert "実績待ち" in html
    assert [row["data-met"] for row in data_elements(html, "data-met")] == ["none"]


def test_facility_without_targets_says_so(manager_client, known_data):
    html = manager_client.get(f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}").get_data(as_text=True)
    assert "年度目標は登録されていません" in html


def test_manager_summary_counts_only_their_facility(app, manager_client, known_data):
    add_targets(app, FACILITY_CODE, FISCAL_YEAR, [("就職者数", 100, 120)])
    add_targets(app, OTHER_FACILITY_CODE, FISCAL_YEAR, [("就職者数", 100, 20)])
    html = manager_client.get(f"/reports/?fy={FISCAL_YEAR}").get_data(as_text=True)
    assert "達成 1施設・一部達成 0施設・未達成 0施設（目標のある1施設）" in html


def test_overview_csv_and_workbook_carry_the_targets(app, admin_client, known_data):
    add_targets(app, FACILITY_CODE, FISCAL_YEAR, [("就職者数", 100, 120), ("相談件数", 500, 420)])
    body = admin_client.get(f"/reports/export/overview.csv?fy={FISCAL_YEAR}").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    kawaguchi = next(row for row in rows if row["施設コード"] == FACILITY_CODE)
    assert (kawaguchi["年度目標の達成状況"], kawaguchi["達成した指標数"], kawaguchi["判定した指標数"]) == ("一部達成", "1", "2")
    other = next(row for row in rows if row["施設コード"] == OTHER_FACILITY_CODE)
    assert other["年度目標の達成状況"] == ""

    workbook = load_workbook(io.BytesIO(admin_client.get(f"/reports/export/overview.xlsx?fy={FISCAL_YEAR}").get_data()))
    sheet = workbook["年度目標"]
    header = [cell.value for cell in sheet[1]]
    values = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(v["指標"], v["目標"], v["実績"], v["達成"], v["施設の達成状況"]) for v in values] == [
        ("就職者数", 100, 120, "○", "一部達成"), ("相談件数", 500, 420, "×", "一部達成")]


def test_demo_targets_leave_real_targets_alone_and_are_idempotent(app, known_data):
    add_targets(app, FACILITY_CODE, FISCAL_YEAR, [("就職者数", 100, 120)])
    with app.app_context():
        created = load_demo_targets([FISCAL_YEAR, FISCAL_YEAR + 1], FISCAL_YEAR + 1, seed=7)
        assert created > 0
        assert load_demo_targets([FISCAL_YEAR, FISCAL_YEAR + 1], FISCAL_YEAR + 1, seed=7) == 0
        kawaguchi = db.session.scalar(db.select(Facility).where(Facility.code == FACILITY_CODE))
        own = db.session.scalars(db.select(Target).where(Target.facility_id == kawaguchi.id,
                                                         Target.fiscal_year == FISCAL_YEAR)).all()
        assert [(t.indicator_name, t.note) for t in own] == [("就職者数", None)]
        demo = db.session.scalars(db.select(Target).where(Target.note == DEMO_NOTE)).all()
        finished = [t for t in demo if t.fiscal_year == FISCAL_YEAR]
        running = [t for t in demo if t.fiscal_year == FISCAL_YEAR + 1]
        assert finished and all(t.result is not None for t in finished)
        assert running and all(t.result is None for t in running)
        # The seed's 平成24年度 figures come with the demo.
        assert db.session.scalar(db.select(db.func.count()).select_from(Target)
                                 .where(Target.fiscal_year == 2012)) == 19
