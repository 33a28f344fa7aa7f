"""The whole loop in a real chromium: promote a discovered theme, correct three comments,
retrain, publish, rerun the analysis; the facility report then shows the new theme and the
corrected comments."""
import json
import re

import pytest
from playwright.sync_api import expect

from analysis import catalog_versions, cli, store

from ..analysis.catalog_fixtures import SMALL_CATALOG
from ..analysis.test_decisions import insert
from ..survey_app.reports_fixtures import make_user
from .test_reports_browser import log_in
from .test_survey_browser import run_axe

pytestmark = pytest.mark.browser

RETRAIN_TIMEOUT_MS = 90_000
EXTRA_THEMES = {
    "T02": ("就職が決まった", ["就職が決まりました", "おかげで仕事が見つかった", "内定をもらえた",
                           "希望の会社に採用された", "無事に就職できました"]),
    "T03": ("前向きな気持ち", ["気持ちが前向きになった", "話を聞いてもらえて安心した", "自信が持てるようになった",
                           "励ましてもらえて元気が出た", "不安が軽くなった"]),
    "T09": ("応募書類・面接の支援", ["履歴書を添削してもらえた", "面接の練習をしてもらえた", "応募書類の書き方を教わった",
                                "職務経歴書を直してもらえた", "模擬面接が役に立った"]),
}
# The small catalog and three more themes (it trains and cross-validates in seconds); none is
# about parking, so a real run leaves the parking comments to discovery.
CATALOG = {
    **SMALL_CATALOG,
    "themes": [*SMALL_CATALOG["themes"], *({"code": code, "name": name, "description": "", "seed_words": [],
                                            "examples": []} for code, (name, _) in EXTRA_THEMES.items())],
    "examples": [*SMALL_CATALOG["examples"], *({"comment": text, "labels": f"{code}:P"}
                                               for code, (_, texts) in EXTRA_THEMES.items() for text in texts)],
}
PARKING = ["駐車場をもっと広くしてほしい", "駐車場の台数を増やしてほしい", "駐車場をもう少し増やしてほしい",
           "無料の駐車場がほしい", "駐車場を増やしてほしい", "駐車場の区画を広くしてほしい",
           "駐車場を無料にしてほしい", "駐車場をもっと増やしてほしい", "駐車場の数を増やしてほしい",
           "大きい駐車場がほしい", "駐車場の白線を引き直してほしい"]
# Parking comments the catalog gives to another theme: the analyst corrects them.
MISPLACED = ["駐車場に屋根をつけてほしい", "駐車場を拡張してほしい", "近くに駐車場を作ってほしい"]
OTHERS = ["職員の方が親切でした", "待ち時間が長い", "土曜日も開けてほしい", "丁寧に説明してもらえた",
          "就職が決まりました", "混んでいて待たされた", "夜間も相談したい", "気持ちが楽になった",
          "履歴書を添削してもらえた", "予約しても待たされる"]
NEW_CODE, NEW_NAME = "T10", "駐車場"


@pytest.fixture
def loop_server(live_server, tmp_path, monkeypatch):
    catalog_file = tmp_path / "published-catalog.json"
    monkeypatch.setenv(catalog_versions.CATALOG_FILE_ENV, str(catalog_file))
    server = live_server({"CATALOG_FILE": str(catalog_file), "CATALOG_RETRAIN_JOBS": 1})
    insert(server.app, (PARKING + MISPLACED + OTHERS) * 2)
    with server.app.app_context():
        from survey_app.extensions import db
        from survey_app.models import Facility

        url = db.engine.url.render_as_string(hide_password=False)
        server.facility_code = db.session.scalars(db.select(Facility)).first().code
    (tmp_path / "catalog.json").write_text(json.dumps(CATALOG, ensure_ascii=False), encoding="utf-8")
    assert cli.main(["catalog", "import", str(tmp_path / "catalog.json"), "--database-url", url]) == 0
    assert cli.main(["catalog", "publish", "2", "--database-url", url]) == 0
    assert cli.main(["run", "--database-url", url, "--k", "2", "--jobs", "1"]) == 0
    make_user(server.app, "loop-analyst", "analyst")
    server.database_url = url
    return server


def themes_of(database_url, text):
    mentions = store.read_mentions(database_url)
    ids = set(store.read_responses(database_url).query("comment == @text")["response_id"])
    return {tuple(mentions.query("response_id == @i")["theme_id"]) for i in ids}


def wait_until_trained(page):
    expect(page.locator("#catalog-status")).to_have_text("完了", timeout=RETRAIN_TIMEOUT_MS)


def publish(page):
    page.get_by_role("button", name="この版を公開する").click()
    page.wait_for_url("**/themes/catalog/")
    expect(page.get_by_role("status").filter(has_text="を公開しました")).to_be_visible()


def test_promote_correct_retrain_publish_rerun_then_the_report_shows_it(loop_server, new_context, artifacts_dir):
    url, database_url = loop_server.url, loop_server.database_url
    mentions = store.read_mentions(database_url)
    discovered = mentions[mentions["theme_id"].str.startswith("D")]
    assert len(discovered), "the run discovered no theme"
    for text in MISPLACED:
        assert all(codes and NEW_CODE not in codes for codes in themes_of(database_url, text))
    page = new_context(bypass_csp=True).new_page()
    log_in(page, url, "loop-analyst")

    # Promote the largest discovered theme (the parking comments) as T10 「駐車場」.
    page.goto(f"{url}/themes/catalog/")
    page.get_by_role("link", name="発見テーマをカタログに追加する").click()
    largest = discovered["theme_id"].value_counts().index[0]
    page.locator("#promote-theme").select_option(largest)
    page.get_by_role("button", name="コメントを表示する").click()
    expect(page.locator("#promote-code")).to_have_value(NEW_CODE)
    page.locator("#promote-name").fill(NEW_NAME)
    boxes = page.locator('input[name="response"]')
    assert boxes.count() >= 2
    for index in range(boxes.count()):
        boxes.nth(index).check()
    assert run_axe(page) == []
    page.get_by_role("button", name="追加した版を作って再学習する").click()
    page.wait_for_url(re.compile(r".*/themes/catalog/\d+$"))
    wait_until_trained(page)  # the page polls the progress, then shows the figures
    expect(page.locator(f'[data-move^="{largest}-{NEW_CODE}"]')).to_be_visible()
    publish(page)

    # Correct three comments the catalog put elsewhere: they are about parking too.
    for text in MISPLACED:
        (code,) = {codes[0] for codes in themes_of(database_url, text)}
        page.goto(f"{url}/themes/{code}")
        item = page.locator("li.comment", has_text=text).first
        form = item.get_by_role("form")
        form.get_by_label("テーマ1", exact=True).select_option(NEW_CODE)
        form.get_by_label("評価・要望").first.select_option("request")
        form.get_by_role("button", name="この判定で保存").click()
        expect(page.get_by_role("status").filter(has_text="判定を保存しました")).to_be_visible()
        assert themes_of(database_url, text) == {(NEW_CODE,)}

    # Retrain on the published version with the decisions, wait for it, publish it.
    page.goto(f"{url}/themes/catalog/")
    page.get_by_role("button", name="再学習を始める").click()
    page.wait_for_url(re.compile(r".*/themes/catalog/\d+$"))
    expect(page.locator("#catalog-progress")).to_be_visible()
    wait_until_trained(page)
    page.screenshot(path=str(artifacts_dir / "catalog-loop-version.png"), full_page=False)
    publish(page)
    published = catalog_versions.published_catalog(store.get_engine(database_url))
    examples = {e["comment"]: e["labels"] for e in published["catalog"]["examples"]}
    assert all(examples[text] == f"{NEW_CODE}:R" for text in MISPLACED)

    # The next run uses the published catalog; the facility report shows the new theme.
    assert cli.main(["run", "--database-url", database_url, "--k", "2", "--jobs", "1"]) == 0
    assert store.latest_run(database_url)["catalog_version"] == published["label"]
    page.goto(f"{url}/reports/{loop_server.facility_code}")
    theme = page.locator(f'article.theme[data-theme="{NEW_CODE}"]')
    expect(theme.locator(".theme__title")).to_have_text(NEW_NAME)
    assert int(theme.get_attribute("data-count")) >= 2 * (len(PARKING) + len(MISPLACED)) - 4
    for text in MISPLACED:
        assert themes_of(database_url, text) == {(NEW_CODE,)}
    page.goto(f"{url}/reports/{loop_server.facility_code}?theme={NEW_CODE}")
    listed = page.locator("#comment-list li.comment")
    for text in MISPLACED:
        item = listed.filter(has=page.locator(".comment__text", has_text=text)).first
        expect(item.locator(".comment__meta")).to_contain_text(f"テーマ：{NEW_NAME}")
    page.screenshot(path=str(artifacts_dir / "catalog-loop-report.png"), full_page=False)
    assert run_axe(page) == []
