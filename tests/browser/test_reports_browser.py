"""Report pages in a real chromium: log in, read, filter, download, no script from comments, axe."""
import pytest

from ..survey_app.reports_fixtures import (FACILITY_CODE, FISCAL_YEAR, PASSWORD, XSS_IMG, XSS_SCRIPT,
                                           insert_known_data, make_user)
from .conftest import IPAD_LANDSCAPE
from .test_survey_browser import collect_csp_violations, run_axe

pytestmark = pytest.mark.browser

EXPORTS = [
    ("一覧（CSV）", "overview_2024.csv", b"\xef\xbb\xbf"),
    ("月別・テーマ（Excel）", "overview_2024.xlsx", b"PK"),
]
FACILITY_EXPORTS = [
    ("レポート（PDF）", f"{FACILITY_CODE}_report_2024.pdf", b"%PDF"),
    ("回答一覧（CSV）", f"{FACILITY_CODE}_responses_2024.csv", b"\xef\xbb\xbf"),
]


@pytest.fixture
def report_server(live_server):
    server = live_server()
    insert_known_data(server.app)
    make_user(server.app, "browser-admin", "admin")
    make_user(server.app, "browser-manager", "manager", [FACILITY_CODE])
    return server


def log_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/auth/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/reports/**")


def download_each(page, exports, tmp_path):
    """Click each export link; check the file's name and its first bytes."""
    for label, filename, magic in exports:
        with page.expect_download() as info:
            page.get_by_role("link", name=label, exact=True).click()
        download = info.value
        assert download.suggested_filename == filename
        path = tmp_path / filename
        download.save_as(path)
        assert path.read_bytes().startswith(magic)


def test_manager_reads_filters_and_downloads(report_server, new_context, artifacts_dir, tmp_path):
    context = new_context(**IPAD_LANDSCAPE, accept_downloads=True)
    page = context.new_page()
    csp_messages = collect_csp_violations(page)
    log_in(page, report_server.url, "browser-manager")

    page.goto(f"{report_server.url}/reports/?fy={FISCAL_YEAR}")
    assert page.locator("#overview-table tbody tr").count() == 1
    assert "1施設中0施設で90%以上の利用者満足度" in page.locator(".headline__main").inner_text()
    page.screenshot(path=str(artifacts_dir / "reports-overview-manager.png"), full_page=True)
    download_each(page, EXPORTS, tmp_path)

    page.get_by_role("link", name="川口市 就労支援コーナー").click()
    page.wait_for_url(f"**/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}")
    assert page.get_by_role("heading", name="月別の推移").is_visible()
    assert page.locator("#comment-count").get_attribute("data-total") == "53"
    page.screenshot(path=str(artifacts_dir / "reports-facility.png"), full_page=True)

    page.select_option("#filter-month", "2024-06")
    page.get_by_role("button", name="絞り込む").click()
    page.wait_for_url("**month=2024-06**")
    assert page.locator("#comment-count").get_attribute("data-total") == "3"
    texts = page.locator(".comment__text").all_inner_texts()
    assert any(XSS_SCRIPT in text and XSS_IMG in text for text in texts), texts
    assert any("担当の〇〇さん" in text for text in texts)
    assert not any("佐藤" in text for text in texts)
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.locator(".comment img").count() == 0
    page.screenshot(path=str(artifacts_dir / "reports-comments-filtered.png"), full_page=True)

    page.fill("#filter-q", "待ち時間")
    page.select_option("#filter-month", "")
    page.get_by_role("button", name="絞り込む").click()
    page.wait_for_url("**q=**")
    assert page.locator("#comment-count").get_attribute("data-total") == "12"

    download_each(page, FACILITY_EXPORTS, tmp_path)
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert csp_messages == []


def test_manager_cannot_open_another_facility(report_server, page):
    log_in(page, report_server.url, "browser-manager")
    response = page.goto(f"{report_server.url}/reports/aomori-young-job-plaza?fy={FISCAL_YEAR}")
    assert response.status == 404


@pytest.mark.parametrize("path", [f"/reports/?fy={FISCAL_YEAR}", f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}"])
def test_report_pages_pass_axe(report_server, new_context, artifacts_dir, path):
    # axe needs its script injected inline, which our CSP forbids: audit in a CSP-bypassing context.
    page = new_context(bypass_csp=True).new_page()
    log_in(page, report_server.url, "browser-admin")
    page.goto(report_server.url + path)
    violations = run_axe(page)
    assert violations == [], violations
    name = "overview" if path.startswith("/reports/?") else "facility"
    page.screenshot(path=str(artifacts_dir / f"reports-{name}-admin-portrait.png"), full_page=False)


def test_print_layout_hides_navigation(report_server, page, artifacts_dir):
    log_in(page, report_server.url, "browser-manager")
    page.goto(f"{report_server.url}/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}")
    page.emulate_media(media="print")
    assert not page.locator(".report-filters").first.is_visible()
    assert not page.locator(".staff-header").is_visible()
    page.pdf(path=str(artifacts_dir / "reports-facility-print.pdf"))


def visible_rows(page, attribute: str) -> list[str]:
    return page.eval_on_selector_all(
        "#overview-table tbody tr:not([hidden])", f"rows => rows.map(r => r.getAttribute('{attribute}'))")


def test_overview_sorts_by_keyboard_and_filters_by_name(report_server, new_context, artifacts_dir):
    page = new_context(**IPAD_LANDSCAPE).new_page()
    csp_messages = collect_csp_violations(page)
    log_in(page, report_server.url, "browser-admin")
    page.goto(f"{report_server.url}/reports/?fy={FISCAL_YEAR}")
    server_order = visible_rows(page, "data-facility")

    n_header = page.locator("#overview-table thead th", has_text="回答数")
    n_button = n_header.get_by_role("button")
    n_button.focus()
    page.keyboard.press("Enter")
    assert n_header.get_attribute("aria-sort") == "ascending"
    counts = [int(n) for n in visible_rows(page, "data-n")]
    assert counts == sorted(counts)
    page.keyboard.press("Space")
    assert n_header.get_attribute("aria-sort") == "descending"
    counts = [int(n) for n in visible_rows(page, "data-n")]
    assert counts == sorted(counts, reverse=True) and counts[0] == 67

    rate_header = page.locator("#overview-table thead th", has_text="満足度（95%信頼区間）")
    rate_header.get_by_role("button").click()
    assert rate_header.get_attribute("aria-sort") == "ascending" and n_header.get_attribute("aria-sort") is None
    rates = visible_rows(page, "data-satisfaction-rate")
    shown = [float(r) for r in rates if r]
    assert shown == sorted(shown) and len(shown) >= 2
    assert rates[:len(shown)] == [r for r in rates if r]  # 回答数不足 (no rate) listed last
    page.locator("#overview-table thead th", has_text="信頼区間（").get_by_role("button").click()
    lows = [float(v) for v in visible_rows(page, "data-satisfaction-low") if v]
    assert lows == sorted(lows)

    name_header = page.locator("#overview-table thead th", has_text="施設").first
    name_header.get_by_role("button").click()
    names = visible_rows(page, "data-name")
    assert names == sorted(names, key=lambda name: page.evaluate(
        "([a, names]) => names.filter(b => a.localeCompare(b, 'ja') > 0).length", [name, names]))

    search = page.get_by_label("施設名で絞り込む")
    search.fill("川口")
    assert visible_rows(page, "data-facility") == [FACILITY_CODE]
    assert page.locator("#overview-table-search-status").inner_text() == f"{len(server_order)}施設中1施設を表示"
    search.fill("ｼﾞｮﾌﾞ")  # half-width kana finds ジョブ (NFKC)
    assert visible_rows(page, "data-facility") and all(
        "ジョブ" in name for name in visible_rows(page, "data-name"))
    page.screenshot(path=str(artifacts_dir / "reports-overview-sorted-searched.png"), full_page=False)
    search.fill("")
    assert len(visible_rows(page, "data-facility")) == len(server_order)

    suppressed = page.locator(".suppressed").first
    style = suppressed.evaluate("e => { const s = getComputedStyle(e); return [s.borderTopStyle, s.cursor]; }")
    assert style == ["none", "auto"]  # 回答数不足 is text, not a button-like box
    assert csp_messages == []


def test_overview_reads_in_server_order_without_javascript(report_server, new_context):
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, report_server.url, "browser-admin")
    page.goto(f"{report_server.url}/reports/?fy={FISCAL_YEAR}")
    assert page.locator("#overview-table tbody tr").count() > 1
    assert page.locator(".sort-button").count() == 0 and page.get_by_label("施設名で絞り込む").count() == 0
