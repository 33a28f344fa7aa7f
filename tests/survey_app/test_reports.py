"""Report pages: access per role, figures equal to the analysis functions, comments."""
import math
import re

import pandas as pd
import pytest

from analysis.satisfaction import national_summary, satisfaction_by, theme_shares
from analysis.store import read_responses, read_theme_assignments
from survey_app.extensions import db
from survey_app.models import AuditEvent, Facility
from analysis.masking import mask_personal_data

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import (FACILITY_CODE, FISCAL_YEAR, OTHER_FACILITY_CODE, PII_COMMENT,
                               SMALL_FACILITY_CODE, XSS_IMG, XSS_SCRIPT, data_elements, logged_in)

FY = f"fy={FISCAL_YEAR}"
REPORT_URLS = [
    f"/reports/?{FY}",
    f"/reports/{FACILITY_CODE}?{FY}",
    f"/reports/export/overview.csv?{FY}",
    f"/reports/export/overview.xlsx?{FY}",
    f"/reports/{FACILITY_CODE}/responses.csv?{FY}",
    f"/reports/{FACILITY_CODE}/report.pdf?{FY}",
]
OTHER_FACILITY_URLS = [
    f"/reports/{OTHER_FACILITY_CODE}?{FY}",
    f"/reports/{OTHER_FACILITY_CODE}/responses.csv?{FY}",
    f"/reports/{OTHER_FACILITY_CODE}/report.pdf?{FY}",
]


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def as_float(text: str):
    return None if text == "" else float(text)


def assert_close(shown, expected):
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert shown is None
    else:
        assert shown == pytest.approx(float(expected), abs=1e-12)


def expected_rates(app, by=("facility_code",), period=None):
    with app.app_context():
        frame = read_responses(db.engine, fiscal_years=[FISCAL_YEAR])
    return satisfaction_by(frame, by=by, period=period)


# ---------------------------------------------------------------------------- access

@pytest.mark.parametrize("url", REPORT_URLS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_manager_overview_lists_only_their_facility(manager_client, known_data):
    rows = data_elements(html_of(manager_client.get(f"/reports/?{FY}")), "data-facility")
    assert [row["data-facility"] for row in rows] == [FACILITY_CODE]


@pytest.mark.parametrize("url", OTHER_FACILITY_URLS)
def test_manager_gets_404_for_another_facility_and_its_exports(manager_client, known_data, url):
    response = manager_client.get(url)
    assert response.status_code == 404
    assert "青森" not in response.get_data(as_text=True)


def test_unknown_facility_is_404_like_a_forbidden_one(admin_client):
    assert admin_client.get("/reports/no-such-facility").status_code == 404


@pytest.mark.parametrize("fixture", ["admin_client", "analyst_client"])
def test_admins_and_analysts_see_every_facility(request, app, known_data, fixture):
    client = request.getfixturevalue(fixture)
    rows = data_elements(html_of(client.get(f"/reports/?{FY}")), "data-facility")
    with app.app_context():
        all_codes = set(db.session.scalars(db.select(Facility.code)))
    assert {row["data-facility"] for row in rows} == all_codes
    for url in OTHER_FACILITY_URLS[:1] + REPORT_URLS[1:2]:
        assert client.get(url).status_code == 200


def test_manager_of_several_facilities_sees_both_and_nothing_else(app, known_data):
    client = logged_in(app, "manager-ab", "manager", [FACILITY_CODE, OTHER_FACILITY_CODE])
    rows = data_elements(html_of(client.get(f"/reports/?{FY}")), "data-facility")
    assert {row["data-facility"] for row in rows} == {FACILITY_CODE, OTHER_FACILITY_CODE}
    assert client.get(f"/reports/{SMALL_FACILITY_CODE}").status_code == 404


def test_manager_without_facilities_sees_an_empty_overview(app, known_data):
    client = logged_in(app, "manager-none", "manager", [])
    html = html_of(client.get(f"/reports/?{FY}"))
    assert data_elements(html, "data-facility") == []
    assert "表示できる施設がありません" in html


def test_report_views_are_audited_without_comment_text(app, manager_client, known_data):
    manager_client.get(f"/reports/?{FY}")
    manager_client.get(f"/reports/{FACILITY_CODE}?{FY}&q=佐藤")
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "report.view")).all()
    targets = [event.target for event in events]
    assert f"overview fy={FISCAL_YEAR}" in targets
    assert f"{FACILITY_CODE} fy={FISCAL_YEAR}" in targets
    assert all("佐藤" not in target and "意見" not in target for target in targets)


# ---------------------------------------------------------------------------- figures

def test_overview_figures_equal_the_analysis_functions(app, admin_client, known_data):
    html = html_of(admin_client.get(f"/reports/?{FY}"))
    shown = {row["data-facility"]: row for row in data_elements(html, "data-facility")}
    expected = expected_rates(app).set_index("facility_code")
    assert set(expected.index) == {FACILITY_CODE, OTHER_FACILITY_CODE, SMALL_FACILITY_CODE}
    for code, row in expected.iterrows():
        assert int(shown[code]["data-n"]) == row["n"]
        assert int(shown[code]["data-satisfied"]) == row["satisfied"]
        for column in ("satisfaction_rate", "satisfaction_low", "satisfaction_high", "establishment_rate"):
            assert_close(as_float(shown[code][f"data-{column.replace('_', '-')}"]), row[column])
    assert shown[OTHER_FACILITY_CODE]["data-meets-target"] == "true"
    assert shown[FACILITY_CODE]["data-meets-target"] == "false"
    # Facilities without answers are listed with n = 0, not left out.
    assert shown["aomori-young-job-plaza"]["data-n"] == "30"
    assert sum(1 for row in shown.values() if row["data-n"] == "0") == len(shown) - 3


def test_small_facility_is_shown_as_too_few_answers_not_as_a_rate(admin_client, known_data):
    html = html_of(admin_client.get(f"/reports/?{FY}"))
    row = next(r for r in data_elements(html, "data-facility") if r["data-facility"] == SMALL_FACILITY_CODE)
    assert row["data-n"] == "6" and row["data-suppressed"] == "true"
    assert row["data-satisfaction-rate"] == ""
    row_html = html.split(f'data-facility="{SMALL_FACILITY_CODE}"')[1].split("</tr>")[0]
    assert "回答数不足" in row_html
    assert "100.0%" not in row_html


def test_overview_headline_uses_the_seed_wording(app, admin_client, known_data):
    html = html_of(admin_client.get(f"/reports/?{FY}"))
    rates = expected_rates(app)
    satisfaction = national_summary(rates, "satisfaction")
    establishment = national_summary(rates, "establishment")
    assert satisfaction["text"] == "2施設中1施設で90%以上の利用者満足度"
    assert satisfaction["text"] in html
    assert establishment["text"] in html


def test_overview_filters_by_prefecture_and_operator_kind(app, admin_client, known_data):
    html = html_of(admin_client.get(f"/reports/?{FY}&prefecture=埼玉県"))
    codes = {row["data-facility"] for row in data_elements(html, "data-facility")}
    with app.app_context():
        saitama = set(db.session.scalars(db.select(Facility.code).where(Facility.prefecture == "埼玉県")))
    assert codes == saitama and FACILITY_CODE in codes
    html = html_of(admin_client.get(f"/reports/?{FY}&operator_kind=prefecture"))
    codes = {row["data-facility"] for row in data_elements(html, "data-facility")}
    assert OTHER_FACILITY_CODE in codes and FACILITY_CODE not in codes


def test_overview_defaults_to_the_newest_year_with_answers_and_ignores_bad_years(admin_client, known_data):
    # The known data are in FISCAL_YEAR and (one answer) the year after, both before the
    # current year: the newest of them is shown.
    for query in ("", "?fy=abc", "?fy=1900"):
        html = html_of(admin_client.get(f"/reports/{query}"))
        assert f'<option value="{FISCAL_YEAR + 1}" selected>' in html


def test_facility_figures_equal_the_analysis_functions(app, manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    key = data_elements(html, "data-satisfaction-low")[0]
    expected = expected_rates(app).set_index("facility_code").loc[FACILITY_CODE]
    assert int(key["data-n"]) == expected["n"] == 67
    for column in ("satisfaction_rate", "satisfaction_low", "satisfaction_high",
                   "establishment_rate", "establishment_low", "establishment_high"):
        assert_close(as_float(key[f"data-{column.replace('_', '-')}"]), expected[column])


def test_facility_monthly_figures_equal_the_analysis_functions(app, manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    shown = {row["data-month"]: row for row in data_elements(html, "data-month")}
    assert list(shown) == [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]
    monthly = expected_rates(app, period="month")
    monthly = monthly[monthly["facility_code"] == FACILITY_CODE].set_index("month")
    for month, row in shown.items():
        if month in monthly.index:
            assert int(row["data-n"]) == monthly.loc[month, "n"]
            assert_close(as_float(row["data-satisfaction-rate"]), monthly.loc[month, "satisfaction_rate"])
        else:
            assert row["data-n"] == "0"
    # 2025-03-31 23:30 Tokyo time belongs to March (and fiscal 2024), not to April.
    assert int(shown["2025-03"]["data-n"]) == 11
    # August has 4 answers: suppressed.
    assert shown["2024-08"]["data-satisfaction-rate"] == ""


def test_facility_group_breakdown_equals_the_analysis_and_suppresses_small_groups(app, manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    shown = {row["data-group"]: row for row in data_elements(html, "data-group")}
    groups = expected_rates(app, by=("facility_code", "respondent_group"))
    groups = groups[groups["facility_code"] == FACILITY_CODE]
    assert len(shown) == len(groups)
    for _, row in groups.iterrows():
        key = row["respondent_group"] or ""
        assert int(shown[key]["data-n"]) == row["n"]
        assert_close(as_float(shown[key]["data-satisfaction-rate"]), row["satisfaction_rate"])
        assert shown[key]["data-suppressed"] == ("true" if row["n"] < 10 else "false")
    assert shown["parenting"]["data-suppressed"] == "true"


def test_facility_answer_distribution_counts_each_answer(app, manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    cells = {cell["data-answer"] for cell in data_elements(html, "data-answer")}
    assert len(cells) == 8
    with app.app_context():
        frame = read_responses(db.engine, fiscal_years=[FISCAL_YEAR], facility_codes=[FACILITY_CODE])
    for value, count in frame["satisfaction"].value_counts().items():
        assert f'data-answer="satisfaction-{value}">{count:,}<' in html


def test_facility_theme_shares_equal_theme_shares(app, manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    shown = {row["data-theme"]: row for row in data_elements(html, "data-theme")}
    with app.app_context():
        assignments = read_theme_assignments(db.engine)
    assignments = assignments[(assignments["facility_code"] == FACILITY_CODE)
                              & (assignments["fiscal_year"] == FISCAL_YEAR)]
    expected = theme_shares(assignments, by=())
    assert set(shown) == set(expected["theme_id"])
    for _, row in expected.iterrows():
        assert int(shown[row["theme_id"]]["data-count"]) == row["count"]
        assert_close(as_float(shown[row["theme_id"]]["data-share"]), row["share"])


def test_national_comparison_shows_the_pooled_rate_of_all_facilities(app, manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    with app.app_context():
        frame = read_responses(db.engine, fiscal_years=[FISCAL_YEAR])
    pooled = satisfaction_by(frame, by=()).iloc[0]
    assert f"全施設（全国）: {pooled['satisfaction_rate'] * 100:.1f}%" in html
    assert "2施設中1施設で90%以上の利用者満足度" in html


# ---------------------------------------------------------------------------- comments

def test_comments_are_masked_and_escaped(manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}&month=2024-06#comments"))
    assert mask_personal_data(PII_COMMENT).replace("@", "") in html.replace("@", "")
    assert "佐藤" not in html and "090-1234-5678" not in html and "sato@example.jp" not in html
    assert XSS_SCRIPT not in html and XSS_IMG not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html


def test_comment_list_only_holds_answers_with_a_comment_and_pages_by_fifty(manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    total = int(data_elements(html, "data-total")[0]["data-total"])
    assert total == known_data["a_comments"] == 53
    assert len(data_elements(html, "data-response")) == 50
    page2 = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}&page=2"))
    first_ids = {row["data-response"] for row in data_elements(html, "data-response")}
    second_ids = {row["data-response"] for row in data_elements(page2, "data-response")}
    assert len(second_ids) == 3 and not first_ids & second_ids
    assert "翌年度の意見" not in html + page2


@pytest.mark.parametrize(("query", "expected_total", "must_contain"), [
    ("theme=T02", 8, "求人検索端末を増設"),
    ("month=2024-08", 4, "八月の意見"),
    ("month=2025-03", 11, "三月の意見"),
    ("rating=4", 4, "五月の意見"),
    ("q=待ち時間", 12, "一月の意見"),
    ("q=開庁&rating=3", 1, "八月の意見2"),
    ("q=100%25満足_", 1, "100%満足_"),
    ("q=%25", 1, "100%満足_"),
    ("q=_", 1, "100%満足_"),
    ("q=存在しない言葉", 0, "条件に合うご意見はありません"),
])
def test_comment_filters(manager_client, known_data, query, expected_total, must_contain):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}&{query}"))
    assert int(data_elements(html, "data-total")[0]["data-total"]) == expected_total
    assert must_contain in html


def test_bad_comment_filters_are_ignored(manager_client, known_data):
    html = html_of(manager_client.get(
        f"/reports/{FACILITY_CODE}?{FY}&month=2030-01&rating=9&theme=<x>&page=-3"))
    assert int(data_elements(html, "data-total")[0]["data-total"]) == known_data["a_comments"]


def test_themes_show_representative_comments_masked(manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    theme_section = html.split('id="themes-title"')[1].split('id="comments-title"')[0]
    assert "丁寧な相談への評価" in theme_section
    assert theme_section.count('class="quote"') >= 3 * 4
    assert "佐藤" not in theme_section


def test_times_are_shown_in_tokyo_time(manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}&month=2025-03"))
    assert "2025年3月31日 23:30" in html


def test_pages_have_no_inline_script_or_style(admin_client, known_data):
    for url in (f"/reports/?{FY}", f"/reports/{FACILITY_CODE}?{FY}"):
        html = html_of(admin_client.get(url))
        assert "style=" not in html
        scripts = re.findall(r"<script[^>]*>", html.replace("&lt;script", ""))
        assert scripts and all(re.fullmatch(r'<script src="/static/js/[\w.-]+\.js" defer>', tag)
                               for tag in scripts), scripts  # external files only, no inline code
        assert re.search(r"<script[^>]*>[^<]+</script>", html) is None
        assert 'role="img"' in html and "<title>" in html


def test_charts_describe_themselves_in_japanese(manager_client, known_data):
    html = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    assert 'aria-label="月別の回答数と満足度"' in html
    assert 'aria-label="支援対象者別の満足度"' in html
    assert "回答の分布（満足度・施設ができてよかったか）" in html


def test_analysis_frame_has_the_expected_fixture_shape(app, known_data):
    """Guard the fixture itself: the numbers above rely on it."""
    with app.app_context():
        frame = read_responses(db.engine, fiscal_years=[FISCAL_YEAR])
    counts = frame.groupby("facility_code").size()
    assert counts.to_dict() == {FACILITY_CODE: 67, OTHER_FACILITY_CODE: 30, SMALL_FACILITY_CODE: 6}
    assert isinstance(frame, pd.DataFrame)


def test_every_report_admin_and_export_page_is_never_cached(app, admin_client, known_data):
    """Every GET route under /reports/ and /admin/ (targets included), pages and exports."""
    values = {"code": FACILITY_CODE, "facility_code": FACILITY_CODE, "fiscal_year": FISCAL_YEAR,
              "user_id": 1}
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith(("/reports/", "/admin/")) and "GET" in rule.methods]
    assert {rule.endpoint.split(".")[0] for rule in rules} == {"reports", "admin", "targets"}
    for rule in rules:
        url = rule.build({name: values[name] for name in rule.arguments})[1]
        for query in ("", f"?{FY}"):
            response = admin_client.get(url + query)
            response.get_data()  # the responses CSV streams: let it finish
            assert response.status_code in (200, 302), url
            assert response.headers["Cache-Control"] == "no-store", url
    for url in ("/reports/no-such-facility", "/admin/users/999999"):  # error pages too
        assert admin_client.get(url).headers["Cache-Control"] == "no-store", url


def test_static_files_stay_cacheable(client):
    assert "no-store" not in client.get("/static/css/base.css").headers.get("Cache-Control", "")
