"""The theme workbench in a real chromium: an analyst corrects three comments; axe finds nothing."""
import pytest

from analysis import cli, store

from ..analysis.test_decisions import COMMENTS, insert
from ..survey_app.reports_fixtures import make_user
from .test_reports_browser import log_in
from .test_survey_browser import run_axe

pytestmark = pytest.mark.browser


@pytest.fixture
def workbench_server(live_server):
    server = live_server()
    insert(server.app, COMMENTS * 2)
    with server.app.app_context():
        from survey_app.extensions import db

        url = db.engine.url.render_as_string(hide_password=False)
    assert cli.main(["run", "--database-url", url, "--k", "2", "--jobs", "1"]) == 0
    make_user(server.app, "browser-analyst", "analyst")
    server.database_url = url
    return server


def test_an_analyst_corrects_three_comments_in_the_workbench(workbench_server, new_context, artifacts_dir):
    url = workbench_server.url
    page = new_context(bypass_csp=True).new_page()
    log_in(page, url, "browser-analyst")
    page.get_by_role("link", name="テーマの確認・修正").click()
    page.wait_for_url("**/themes/")
    assert run_axe(page) == []
    page.screenshot(path=str(artifacts_dir / "workbench-themes.png"), full_page=False)
    largest = store.read_mentions(workbench_server.database_url)["theme_id"].value_counts().index[0]
    page.locator(f'a[href="/themes/{largest}"]').click()
    page.wait_for_url(f"**/themes/{largest}")
    assert run_axe(page) == []
    page.screenshot(path=str(artifacts_dir / "workbench-theme.png"), full_page=False)

    corrected = []
    for step in range(3):
        # Always the first comment not yet corrected: borderline first.
        item = page.locator("li.comment", has_not=page.locator(".notice-inline")).first
        corrected.append(item.locator(".comment__text").inner_text())
        form = item.get_by_role("form")
        if step == 2:
            form.get_by_role("button", name="内容なしにする").click()
        else:
            form.get_by_label("テーマ1", exact=True).select_option("T11")
            form.get_by_label("評価・要望").first.select_option("request")
            form.get_by_role("button", name="この判定で保存").click()
        page.wait_for_url(f"**/themes/{largest}")
        assert page.get_by_role("status").filter(has_text="判定を保存しました").is_visible()

    with_mentions = store.read_mentions(workbench_server.database_url)
    responses = store.read_responses(workbench_server.database_url)
    for text, expected in zip(corrected, (["T11"], ["T11"], [])):
        ids = set(responses.loc[responses["comment"] == text, "response_id"])
        assert ids and all(
            with_mentions.query("response_id == @i")["theme_id"].tolist() == expected for i in ids)
    page.goto(f"{url}/themes/history")
    assert page.get_by_role("cell", name=corrected[0]).first.is_visible()
    assert run_axe(page) == []
