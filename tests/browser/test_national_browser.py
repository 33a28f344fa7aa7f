"""The national report and the admin pages in a real chromium: axe, the change column's sort, revoking."""
import pytest

from tests.conftest import FACILITY_CODE, enroll

from ..survey_app.reports_fixtures import FISCAL_YEAR, insert_known_data, make_user
from ..survey_app.test_national_report import add_previous_year
from .conftest import IPAD_LANDSCAPE
from .test_reports_browser import log_in
from .test_survey_browser import collect_csp_violations, run_axe

pytestmark = pytest.mark.browser


@pytest.fixture
def national_server(live_server):
    server = live_server()
    insert_known_data(server.app)
    add_previous_year(server.app)
    enroll(server.app, FACILITY_CODE)
    make_user(server.app, "browser-admin", "admin")
    return server


@pytest.mark.parametrize("path", [f"/reports/national?fy={FISCAL_YEAR}", "/admin/devices",
                                  "/admin/audit?action=report.view", "/admin/audit?from=2025-13-01"])
def test_new_pages_pass_axe(national_server, new_context, artifacts_dir, path):
    # axe needs its script injected inline, which our CSP forbids: audit in a CSP-bypassing context.
    page = new_context(bypass_csp=True).new_page()
    log_in(page, national_server.url, "browser-admin")
    page.goto(f"{national_server.url}/reports/?fy={FISCAL_YEAR}")  # something to audit in the log
    page.goto(national_server.url + path)
    assert run_axe(page) == []
    name = path.strip("/").split("?")[0].replace("/", "-")
    page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)


def sorted_values(page, table: str, attribute: str) -> list:
    values = page.eval_on_selector_all(f"#{table} tbody tr", f"rows => rows.map(r => r.getAttribute('{attribute}'))")
    return values


def test_change_columns_sort_and_a_tablet_is_revoked_from_the_web(national_server, new_context, artifacts_dir):
    page = new_context(**IPAD_LANDSCAPE).new_page()
    csp_messages = collect_csp_violations(page)
    log_in(page, national_server.url, "browser-admin")

    page.goto(f"{national_server.url}/reports/?fy={FISCAL_YEAR}")
    header = page.locator("#overview-table thead th", has_text="前年度比")
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    values = sorted_values(page, "overview-table", "data-change")
    known = [float(v) for v in values if v]
    assert len(known) == 2 and known == sorted(known)
    assert values[:len(known)] == [v for v in values if v]  # no change (回答数不足, no answers) last
    header.get_by_role("button").click()
    known = [float(v) for v in sorted_values(page, "overview-table", "data-change") if v]
    assert known == sorted(known, reverse=True)

    page.goto(f"{national_server.url}/reports/national?fy={FISCAL_YEAR}")
    assert "アンケート調査を実施した2施設のうち、1施設で90%以上の利用者満足度" in page.locator("#national-summary").inner_text()
    for label, attribute in (("前年度との差", "data-change"), ("全国との差", "data-difference"),
                             ("回答数", "data-n"), ("信頼区間の下限", "data-low")):
        header = page.locator("#national-facility-table thead th", has_text=label)
        header.get_by_role("button").click()
        known = [float(v) for v in sorted_values(page, "national-facility-table", attribute) if v]
        assert known == sorted(known), label
    page.emulate_media(media="print")
    assert not page.locator(".report-actions").is_visible() and not page.locator(".staff-header").is_visible()
    page.emulate_media(media="screen")

    page.goto(f"{national_server.url}/admin/devices")
    row = page.locator("#device-table tbody tr").first
    assert row.get_attribute("data-state") == "enrolled"
    row.get_by_role("button", name="取り消す").click()
    page.wait_for_url("**/admin/devices")
    assert "を取り消しました" in page.get_by_role("status").first.inner_text()
    assert page.locator("#device-table tbody tr").first.get_attribute("data-state") == "revoked"
    page.screenshot(path=str(artifacts_dir / "admin-devices-revoked.png"), full_page=True)
    assert csp_messages == []
