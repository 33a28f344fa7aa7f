"""A manager sees only the themes and words of the facilities they may see."""
import io
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Facility, ResponseTheme, Theme

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import FACILITY_CODE, FISCAL_YEAR, OTHER_FACILITY_CODE, _response, _tokyo_to_utc

FY = f"fy={FISCAL_YEAR}"
B_ONLY_LABEL = "りんご農園・見学"
# T01's comments: 相談が丁寧 (A), 佐藤さんが親切 (A, masked), 青森の職員さんは親切 (B only).
T01_WORDS = ["丁寧", "青森", "職員", "佐藤"]


@pytest.fixture
def themes_across_facilities(app, known_data):
    """A discovered theme with comments only in B, and words of T01 that only B's comments hold."""
    with app.app_context():
        b = db.session.scalar(select(Facility).where(Facility.code == OTHER_FACILITY_CODE))
        rows = [_response(b.id, _tokyo_to_utc(2024, 10, 1 + i), 1, 1, "youth", f"りんご農園の見学会{i}がよかった")
                for i in range(3)]
        db.session.add_all(rows)
        db.session.flush()
        run_id = known_data["run_id"]
        db.session.add_all(ResponseTheme(run_id=run_id, response_id=r.id, theme_id="D01", score=0.9,
                                         source="discovery") for r in rows)
        db.session.add(Theme(run_id=run_id, theme_id="D01", label=B_ONLY_LABEL, source="discovery", size=3,
                             words=["りんご", "農園", "見学"], representative_response_ids=[rows[0].id]))
        db.session.scalar(select(Theme).where(Theme.run_id == run_id, Theme.theme_id == "T01")).words = T01_WORDS
        db.session.commit()
    return known_data


def words_of(html: str, code: str) -> list[str]:
    article = html.split(f'data-theme="{code}"')[1].split("</article>")[0]
    line = article.split("よく出る言葉：")[1].split("</p>")[0]
    return line.split("、")


def test_manager_page_lists_only_themes_and_words_of_their_facility(manager_client, themes_across_facilities):
    html = manager_client.get(f"/reports/{FACILITY_CODE}?{FY}").get_data(as_text=True)
    assert words_of(html, "T01") == ["丁寧"]
    theme_filter = html.split('id="filter-theme"')[1].split("</select>")[0]
    assert "丁寧な相談への評価" in theme_filter
    assert "D01" not in theme_filter and B_ONLY_LABEL not in html
    for word in ("青森", "職員", "佐藤", "りんご"):
        assert word not in html.split('id="themes-title"')[1].split('id="comments-title"')[0]


def test_manager_of_the_other_facility_sees_its_own_theme_and_words(other_manager_client,
                                                                   themes_across_facilities):
    html = other_manager_client.get(f"/reports/{OTHER_FACILITY_CODE}?{FY}").get_data(as_text=True)
    # A discovered theme is labelled, for a manager, with a phrase of their own facility's comments.
    assert "りんご農園の見学会0がよかった" in html and words_of(html, "D01") == ["りんご", "農園", "見学"]
    assert words_of(html, "T01") == ["青森", "職員"]
    assert 'value="D01"' in html.split('id="filter-theme"')[1].split("</select>")[0]


def test_admins_see_every_theme_in_the_filter(admin_client, themes_across_facilities):
    html = admin_client.get(f"/reports/{FACILITY_CODE}?{FY}").get_data(as_text=True)
    assert 'value="D01"' in html.split('id="filter-theme"')[1].split("</select>")[0]


def test_manager_pdf_holds_only_words_of_their_facility(manager_client, themes_across_facilities, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(manager_client.get(f"/reports/{FACILITY_CODE}/report.pdf?{FY}").get_data())
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "丁寧な相談への評価" in text and "丁寧" in text.split("よく出る言葉")[1]
    for word in ("青森", "職員", "佐藤", "りんご", B_ONLY_LABEL):
        assert word not in text, word


def test_manager_overview_and_exports_name_only_themes_of_their_facility(manager_client,
                                                                        themes_across_facilities):
    html = manager_client.get(f"/reports/?{FY}").get_data(as_text=True)
    assert "丁寧な相談への評価" in html and B_ONLY_LABEL not in html
    csv_text = manager_client.get(f"/reports/export/overview.csv?{FY}").get_data().decode("utf-8-sig")
    assert "丁寧な相談への評価" in csv_text and B_ONLY_LABEL not in csv_text
    workbook = load_workbook(io.BytesIO(manager_client.get(f"/reports/export/overview.xlsx?{FY}").get_data()))
    cells = [str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows()
             for cell in row if cell.value is not None]
    assert "丁寧な相談への評価" in cells and not any(B_ONLY_LABEL in cell for cell in cells)


def test_a_discovered_label_never_quotes_another_facility(app, manager_client, other_manager_client,
                                                          themes_across_facilities):
    """The stored label of a theme met in A and B is a phrase of B's comment: A's manager gets A's."""
    with app.app_context():
        a = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
        row = _response(a.id, _tokyo_to_utc(2024, 10, 9), 1, 1, "youth", "みかん畑の見学もしたいです")
        db.session.add(row)
        db.session.flush()
        run_id = themes_across_facilities["run_id"]
        db.session.add(ResponseTheme(run_id=run_id, response_id=row.id, theme_id="D01", score=0.5,
                                     source="discovery"))
        db.session.scalar(select(Theme).where(Theme.run_id == run_id, Theme.theme_id == "D01")).label = \
            "りんご農園の見学会0がよかった"
        db.session.commit()
    html = manager_client.get(f"/reports/{FACILITY_CODE}?{FY}").get_data(as_text=True)
    assert "りんご" not in html
    assert "みかん畑の見学もしたいです" in html.split('id="filter-theme"')[1].split("</select>")[0]
    csv_text = manager_client.get(f"/reports/{FACILITY_CODE}/comments.csv?{FY}").get_data(as_text=True)
    assert "りんご" not in csv_text
