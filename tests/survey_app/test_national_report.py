"""The national report and the year-on-year figures: equal to the analysis functions, access, exports."""
import io
import subprocess

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.comparison import rate_change, versus_rest
from analysis.satisfaction import count_answers, national_report_sentences, national_summary, satisfaction_by
from analysis.store import read_responses
from survey_app.extensions import db
from survey_app.models import AuditEvent, Facility, Target

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import (FACILITY_CODE, FISCAL_YEAR, OTHER_FACILITY_CODE, SMALL_FACILITY_CODE,
                               _response, _tokyo_to_utc, data_elements)

FY = f"fy={FISCAL_YEAR}"
NATIONAL_URLS = [f"/reports/national?{FY}", f"/reports/export/national.pdf?{FY}",
                 f"/reports/export/national.xlsx?{FY}"]
# The year before: 川口 40 answers (24 satisfied, 60% → a real rise), 青森 20 (18, 90%).
PREVIOUS_PLAN = {FACILITY_CODE: (40, 24), OTHER_FACILITY_CODE: (20, 18)}


def add_previous_year(app):
    with app.app_context():
        codes = {f.code: f for f in db.session.scalars(db.select(Facility))}
        rows = []
        for code, (n, satisfied) in PREVIOUS_PLAN.items():
            for i in range(n):
                row = _response(codes[code].id, _tokyo_to_utc(FISCAL_YEAR - 1, 6, 1 + i % 28),
                                1 if i < satisfied else 3, 2 if i % 2 else 4, "youth", None)
                row.fiscal_year = FISCAL_YEAR - 1
                rows.append(row)
        db.session.add_all(rows)
        db.session.commit()


@pytest.fixture
def two_years(app, known_data):
    add_previous_year(app)
    return known_data


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def as_float(text):
    return None if text in ("", None) else float(text)


def close(value, expected):
    if expected is None or pd.isna(expected):
        return value is None
    return value is not None and value == pytest.approx(float(expected), abs=1e-12)


def analysis_frames(app):
    with app.app_context():
        responses = read_responses(db.engine, fiscal_years=[FISCAL_YEAR - 1, FISCAL_YEAR])
        facilities = {f.code: f for f in db.session.scalars(db.select(Facility))}
        attributes = {code: (f.operator_kind, list(f.target_groups)) for code, f in facilities.items()}
    return responses, attributes


# ---------------------------------------------------------------------------- access

@pytest.mark.parametrize("url", NATIONAL_URLS)
def test_national_report_is_for_admins_and_analysts_only(app, client, manager_client, analyst_client, url):
    assert manager_client.get(url).status_code == 403
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert analyst_client.get(url).status_code == 200


# ---------------------------------------------------------------------------- figures

def test_national_report_figures_equal_the_analysis_functions(app, admin_client, two_years):
    html = html_of(admin_client.get(f"/reports/national?{FY}"))
    responses, attributes = analysis_frames(app)
    this_year = responses[responses["fiscal_year"] == FISCAL_YEAR]
    rates = satisfaction_by(this_year, by="facility_code")

    for measure in ("satisfaction", "establishment"):
        expected = national_summary(rates, measure)
        shown = next(e for e in data_elements(html, "data-summary") if e["data-summary"] == measure)
        assert (int(shown["data-eligible"]), int(shown["data-meeting"]), int(shown["data-suppressed"])) == (
            expected["eligible"], expected["meeting"], expected["suppressed"])
        sentences = national_report_sentences(expected, measure)
        assert sentences["lead"] in html and sentences["detail"] in html
    assert "アンケート調査を実施した2施設のうち、1施設で90%以上の利用者満足度" in html

    # By operator kind and by the facilities' support target groups (counted in each).
    rates["operator_kind"] = rates["facility_code"].map(lambda code: attributes[code][0])
    rates["target_group"] = rates["facility_code"].map(lambda code: attributes[code][1] or ["unrestricted"])
    groups = {e["data-group"]: e for e in data_elements(html, "data-group")}
    for key, subset in [*rates.groupby("operator_kind"), *rates.explode("target_group").groupby("target_group")]:
        expected = national_summary(subset.drop_duplicates("facility_code"), "satisfaction")
        row = groups[key]
        assert (int(row["data-satisfaction-eligible"]), int(row["data-satisfaction-meeting"])) == (
            expected["eligible"], expected["meeting"]), key
        assert int(row["data-n"]) == subset["n"].sum()
    assert {"prefecture", "municipal", "youth"} <= set(groups)

    # Each facility: year on year and against the rest, as analysis.comparison computes them.
    counts = count_answers(responses, by=("facility_code", "fiscal_year"))
    changes = rate_change(counts, FISCAL_YEAR).set_index("facility_code")
    rests = versus_rest(counts[counts["fiscal_year"] == FISCAL_YEAR]).set_index("facility_code")
    shown = {e["data-facility"]: e for e in data_elements(html, "data-facility")}
    assert set(shown) == set(changes.index)
    for code, row in shown.items():
        assert int(row["data-n"]) == changes.loc[code, "n"]
        for attribute, column in (("data-rate", "rate"), ("data-change", "change"),
                                  ("data-change-low", "change_low"), ("data-change-high", "change_high")):
            assert close(as_float(row[attribute]), changes.loc[code, column]), (code, attribute)
        if code in rests.index:
            for attribute, column in (("data-difference", "difference"), ("data-difference-low", "difference_low"),
                                      ("data-difference-high", "difference_high")):
                assert close(as_float(row[attribute]), rests.loc[code, column]), (code, attribute)
    kawaguchi = changes.loc[FACILITY_CODE]
    assert kawaguchi["previous_rate"] == pytest.approx(0.6) and bool(kawaguchi["significant"])


def test_too_few_answers_hide_the_change_and_the_difference(app, admin_client, two_years):
    html = html_of(admin_client.get(f"/reports/national?{FY}"))
    small = next(e for e in data_elements(html, "data-facility") if e["data-facility"] == SMALL_FACILITY_CODE)
    assert small["data-n"] == "6"
    assert small["data-rate"] == small["data-change"] == small["data-difference"] == ""
    row_html = html.split(f'data-facility="{SMALL_FACILITY_CODE}"')[1].split("</tr>")[0]
    assert row_html.count("回答数不足") == 3 and "100.0%" not in row_html
    # The year after has a single answer: no rate and no change for it either.
    html = html_of(admin_client.get(f"/reports/national?fy={FISCAL_YEAR + 1}"))
    change = next(e for e in data_elements(html, "id") if e["id"] == "national-change")
    assert change["data-change"] == ""


def test_national_targets_are_counted_per_municipality_and_facility(app, admin_client, known_data):
    with app.app_context():
        codes = {f.code: f for f in db.session.scalars(db.select(Facility))}
        for code, result in ((FACILITY_CODE, 120), (OTHER_FACILITY_CODE, 50), (SMALL_FACILITY_CODE, None)):
            db.session.add(Target(facility_id=codes[code].id, fiscal_year=FISCAL_YEAR, indicator_key="employments",
                                  indicator_name="就職者数", kind="count", unit="人", direction="higher",
                                  target=100, result=result))
        db.session.commit()
    html = html_of(admin_client.get(f"/reports/national?{FY}"))
    section = next(e for e in data_elements(html, "id") if e["id"] == "national-targets")
    assert (section["data-achieved"], section["data-partly"], section["data-not-achieved"]) == ("1", "0", "1")
    assert "目標を判定した2自治体のうち、1自治体において目標を完全に達成" in html
    assert "就職者数の実績：計170人" in html


def test_national_report_lists_voices_with_masked_quotes(app, admin_client, known_data):
    html = html_of(admin_client.get(f"/reports/national?{FY}"))
    assert 'id="voices"' in html and "利用者の声" in html
    assert "090-1234-5678" not in html and "佐藤" not in html


def test_national_view_and_exports_are_audited(app, admin_client, two_years):
    admin_client.get(f"/reports/national?{FY}")
    admin_client.get(f"/reports/export/national.xlsx?{FY}")
    with app.app_context():
        targets = [(e.action, e.target) for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert ("report.view", f"national fy={FISCAL_YEAR}") in targets
    assert ("report.export", f"national.xlsx fy={FISCAL_YEAR}") in targets


# ---------------------------------------------------------------------------- exports

def test_national_workbook_holds_the_pages_figures(app, admin_client, two_years):
    html = html_of(admin_client.get(f"/reports/national?{FY}"))
    shown = {e["data-facility"]: e for e in data_elements(html, "data-facility")}
    response = admin_client.get(f"/reports/export/national.xlsx?{FY}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["全国集計", "施設別の比較", "年度目標", "利用者の声"]
    summary = [c.value for row in workbook["全国集計"].iter_rows() for c in row if c.value]
    assert any("アンケート調査を実施した2施設のうち、1施設で90%以上の利用者満足度" in str(v) for v in summary)
    sheet = workbook["施設別の比較"]
    headers = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(headers, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == set(shown)
    kawaguchi = rows[FACILITY_CODE]
    assert kawaguchi["前年度との差（ポイント）"] == round(float(shown[FACILITY_CODE]["data-change"]) * 100, 1)
    assert kawaguchi["前年度との差の判定"] == "上昇"
    assert rows[SMALL_FACILITY_CODE]["前年度との差（ポイント）"] == "回答数不足"


def test_national_pdf_reads_like_the_ministry_report(admin_client, two_years, tmp_path):
    response = admin_client.get(f"/reports/export/national.pdf?{FY}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "national.pdf"
    pdf.write_bytes(response.get_data())
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True).stdout.decode()
    flat = "".join(text.split())
    assert "全国集計" in flat and "アンケート調査を実施した2施設のうち、1施設で90%以上の利用者満足度" in flat
    assert "運営主体別" in flat and "年度目標の達成状況" in flat


# ---------------------------------------------------------------------------- other pages

def test_facility_page_shows_the_change_and_the_difference_from_the_rest(app, manager_client, two_years):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    responses, _ = analysis_frames(app)
    counts = count_answers(responses, by=("facility_code", "fiscal_year"))
    change = rate_change(counts, FISCAL_YEAR).set_index("facility_code").loc[FACILITY_CODE]
    rest = versus_rest(counts[counts["fiscal_year"] == FISCAL_YEAR]).set_index("facility_code").loc[FACILITY_CODE]
    rows = {e["id"]: e for e in data_elements(html, "id")}
    shown = rows["year-on-year"]
    assert int(shown["data-previous-n"]) == 40 and shown["data-significant"] == "true"
    for attribute, column in (("data-change", "change"), ("data-change-low", "change_low"),
                              ("data-change-high", "change_high")):
        assert close(as_float(shown[attribute]), change[column])
    other = rows["versus-rest"]
    assert int(other["data-rest-n"]) == rest["rest_n"]
    assert close(as_float(other["data-difference-low"]), rest["difference_low"])
    assert "上昇" in html.split('id="year-on-year"')[1].split("</tr>")[0]


def test_overview_change_column_is_sortable_and_equals_the_analysis(app, manager_client, admin_client, two_years):
    responses, _ = analysis_frames(app)
    changes = rate_change(count_answers(responses, by=("facility_code", "fiscal_year")), FISCAL_YEAR)
    changes = changes.set_index("facility_code")
    html = html_of(admin_client.get(f"/reports/?{FY}"))
    assert '<th scope="col" class="num" data-sort="number">前年度比</th>' in html
    rows = {e["data-facility"]: e for e in data_elements(html, "data-facility")}
    assert close(as_float(rows[FACILITY_CODE]["data-change"]), changes.loc[FACILITY_CODE, "change"])
    assert rows[SMALL_FACILITY_CODE]["data-change"] == ""
    # A manager's overview: only their facility, its own change.
    html = html_of(manager_client.get(f"/reports/?{FY}"))
    rows = {e["data-facility"]: e for e in data_elements(html, "data-facility")}
    assert set(rows) == {FACILITY_CODE}
    assert close(as_float(rows[FACILITY_CODE]["data-change"]), changes.loc[FACILITY_CODE, "change"])
