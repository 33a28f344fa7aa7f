"""The paper entry screen in a real chromium: keyboard only, stored once, conflicts shown."""
import pytest
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Facility, Response
from survey_app.paper.sheets import allocate_sheets, shown

from ..survey_app.reports_fixtures import FACILITY_CODE, PASSWORD, make_user
from .conftest import IPAD_LANDSCAPE
from .test_survey_browser import collect_csp_violations, run_axe

pytestmark = pytest.mark.browser


def type_sheet(page, number: str, keys: list[str], comment: str = "") -> None:
    """Type one sheet the way staff do: number, Enter, a digit and Enter per question, comment, Enter."""
    page.locator("#entry-sheet_number").fill("")
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    for step in keys:  # "15": keys 1 and 5 on one question
        for key in step:
            page.keyboard.press(key)
        page.keyboard.press("Enter")
    for number, line in enumerate(comment.split("\n")):
        if number:
            page.keyboard.press("Shift+Enter")
        page.keyboard.type(line)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def log_in(page, url: str) -> None:
    page.goto(f"{url}/auth/login")
    page.get_by_label("ユーザー名").fill("browser-clerk")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/paper/entry")


def test_a_clerk_types_sheets_in_by_keyboard_once_and_sees_a_conflict(live_server, new_context, artifacts_dir):
    server = live_server()
    make_user(server.app, "browser-clerk", "clerk", [FACILITY_CODE])
    with server.app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
        first, second = allocate_sheets(facility, 2)
    page = new_context(**IPAD_LANDSCAPE).new_page()
    csp_messages = collect_csp_violations(page)
    log_in(page, server.url)
    assert page.evaluate("document.activeElement.id") == "entry-sheet_number"

    # A typo in the number is caught at Enter, before any answer is typed.
    page.keyboard.type(first[:-1] + str((int(first[-1]) + 1) % 10))
    page.keyboard.press("Enter")
    assert "チェック用の数字が合いません" in page.locator("#sheet-number-message").inner_text()
    assert page.evaluate("document.activeElement.id") == "entry-sheet_number"

    # 2 = まあ満足, 1 = そう思う, 4 = 若年者, services 1 and 5 (toggled), comment.
    page.locator("#entry-sheet_number").fill("")
    page.keyboard.type(shown(first))
    page.keyboard.press("Enter")
    page.keyboard.press("2")
    assert page.locator('input[name="satisfaction"][value="2"]').is_checked()
    page.keyboard.press("Enter")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.keyboard.press("4")
    page.keyboard.press("Enter")
    for key in ("1", "5", "3", "3"):  # 3 twice: on and off again
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "entry-comment"
    page.keyboard.type("相談しやすかった")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("また来ます")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "を保存しました" in page.locator(".notice--success").inner_text()
    assert page.evaluate("document.activeElement.id") == "entry-sheet_number"

    type_sheet(page, shown(first), ["2", "1", "4", "15"], "相談しやすかった\nまた来ます")  # again: kept once
    assert "同じ内容ですでに入力されています" in page.locator(".notice--success").inner_text()
    type_sheet(page, second, ["1", "1", "", ""])
    with server.app.app_context():
        rows = db.session.execute(select(Response.sheet_number, Response.channel, Response.satisfaction,
                                         Response.establishment, Response.respondent_group, Response.services,
                                         Response.comment).order_by(Response.sheet_number)).all()
    assert [tuple(row) for row in rows] == [
        (first, "paper", 2, 1, "youth", ["job_consultation", "seminar"], "相談しやすかった\nまた来ます"),
        (second, "paper", 1, 1, None, [], None)]

    # The second sheet typed again with another satisfaction: shown as a conflict, not stored.
    type_sheet(page, second, ["4", "1", "", ""])
    conflict = page.locator("#conflict")
    assert "すでに別の内容で入力されています" in conflict.inner_text()
    assert "（違い）" in conflict.locator(".conflict__differs").inner_text()
    assert page.evaluate("document.activeElement.id") == "conflict"
    page.screenshot(path=str(artifacts_dir / "paper-entry-conflict.png"), full_page=True)
    with server.app.app_context():
        assert db.session.scalar(select(Response.satisfaction).where(Response.sheet_number == second)) == 1
        assert db.session.scalar(select(db.func.count()).select_from(Response)) == 2
    assert csp_messages == []

    # axe needs its script injected inline, which our CSP forbids: audit in a CSP-bypassing context.
    audit = new_context(**IPAD_LANDSCAPE, bypass_csp=True).new_page()
    log_in(audit, server.url)
    assert run_axe(audit) == []
    type_sheet(audit, second, ["4", "1", "", ""])
    assert audit.locator("#conflict").is_visible()
    assert run_axe(audit) == []
