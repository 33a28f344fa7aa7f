"""The printed questionnaire: real PDF pages (pdftoppm, pdftotext), each with its number and QR code."""
import shutil
import subprocess

import pytest
import segno
from PIL import Image
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Facility, PaperSheet
from survey_app.paper.sheets import parse_sheet_number, shown
from survey_app.questionnaire import QUESTIONS

from .reports_fixtures import CSRF_PATTERN, FACILITY_CODE, logged_in

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
DPI = 200


def pdf_text(path, page=None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def qr_matrix_on_page(pdf, page: int, tmp_path) -> list[list[bool]]:
    """Read the QR code printed in the page's top right corner back as a module matrix."""
    prefix = tmp_path / f"page{page}"
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-f", str(page), "-l", str(page),
                    str(pdf), str(prefix)], check=True)
    image = Image.open(next(tmp_path.glob(f"page{page}-*.png"))).convert("L")
    width, height = image.size
    region = image.crop((int(width * 0.6), 0, width, int(height * 0.2)))
    pixels = region.load()
    dark = lambda x, y: pixels[x, y] < 128  # noqa: E731
    top = next(y for y in range(region.height) if any(dark(x, y) for x in range(region.width)))
    row = [x for x in range(region.width) if dark(x, top)]
    left, size = row[0], row[-1] - row[0] + 1  # the top row runs from finder pattern to finder pattern
    modules = 21
    step = size / modules
    return [[dark(int(left + (i + 0.5) * step), int(top + (j + 0.5) * step)) for i in range(modules)]
            for j in range(modules)]


def test_the_questionnaire_pdf_renders_with_facility_numbers_furigana_and_qr(app, runner, tmp_path):
    output = tmp_path / "sheets.pdf"
    result = runner.invoke(args=["paper", "questionnaire", FACILITY_CODE, "--sheets", "3", "--output", str(output)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
        serials = db.session.scalars(select(PaperSheet.serial).where(PaperSheet.facility_id == facility.id)
                                     .order_by(PaperSheet.serial)).all()
        name = facility.name
    assert len(serials) == 3
    info = subprocess.run(["pdfinfo", str(output)], check=True, capture_output=True, text=True).stdout
    assert "Pages:           3" in info and "595.276 x 841.89 pts (A4)" in info  # one A4 page per sheet
    numbers = []
    for page in (1, 2, 3):
        text = pdf_text(output, page)
        assert name in text
        printed = [word for word in text.split() if len(word) == 9 and word[7] == "-"]
        assert printed, text
        numbers.append(parse_sheet_number(printed[0]))  # a printed number passes its own check
        assert int(numbers[-1][:-1]) == serials[page - 1]
        for question in QUESTIONS:  # every question of the tablet's definition, with readings
            assert question.text.split("（")[0][:6] in text.replace(" ", "").replace("\n", "")
        assert "まんぞく" in text and "しせつ" in text
        expected = segno.make_qr(numbers[-1], error="m").matrix
        assert qr_matrix_on_page(output, page, tmp_path) == [[bool(v) for v in row] for row in expected]
    assert len(set(numbers)) == 3
    assert f"{shown(numbers[0])} – {shown(numbers[-1])}" in result.output


def test_unknown_facility_and_bad_sheet_counts_are_refused(app, runner, tmp_path):
    output = tmp_path / "x.pdf"
    result = runner.invoke(args=["paper", "questionnaire", "no-such-place", "--sheets", "1", "--output", str(output)])
    assert result.exit_code != 0 and "no facility 'no-such-place'" in result.output
    result = runner.invoke(args=["paper", "questionnaire", FACILITY_CODE, "--sheets", "0", "--output", str(output)])
    assert result.exit_code != 0
    assert not output.exists()


def test_a_manager_prints_from_the_web(app):
    manager = logged_in(app, "print-manager", "manager", [FACILITY_CODE])
    page = manager.get("/paper/").get_data(as_text=True)
    token = CSRF_PATTERN.search(page)
    response = manager.post("/paper/print", data={"csrf_token": token.group(1) or token.group(2),
                                                 "facility": FACILITY_CODE, "sheets": "2"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    with app.app_context():
        assert len(db.session.scalars(select(PaperSheet)).all()) == 2
