"""The /themes/catalog/ pages: roles, CSRF, import, retrain with progress, publish, restore, diff, promote."""
import io
import json
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from analysis import catalog_versions, cli, store
from survey_app.extensions import db
from survey_app.models import AnalysisRun, AuditEvent, CatalogVersion, Response, ResponseTheme, Theme, ThemeMention

from ..analysis.catalog_fixtures import PARKING, SMALL_CATALOG, small_catalog_json
from ..analysis.test_store import FACILITIES, insert_responses
from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import CSRF_PATTERN

RETRAIN_TIMEOUT_SECONDS = 180


def csrf(client, path="/themes/catalog/"):
    match = CSRF_PATTERN.search(client.get(path).get_data(as_text=True))
    return match.group(1) or match.group(2)


def database_url(app):
    with app.app_context():
        return db.engine.url.render_as_string(hide_password=False)


def versions(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CatalogVersion))


def audit(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if e.action.startswith("catalog.")]


def import_small(client, catalog=None):
    data = {"csrf_token": csrf(client), "note": "小さな版",
            "file": (io.BytesIO((catalog or small_catalog_json()).encode()), "small.json")}
    return client.post("/themes/catalog/import", data=data, content_type="multipart/form-data")


def wait_until_trained(client, version_id):
    deadline = time.monotonic() + RETRAIN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        state = client.get(f"/themes/catalog/{version_id}/progress").get_json()
        if state["status"] != "training":
            return state
        time.sleep(0.3)
    raise AssertionError("retrain did not finish")


@pytest.fixture
def comments_run(app):
    """Comments (parking ones among them) and a run of the published small catalog on them."""
    url = database_url(app)
    engine = store.get_engine(url)
    comments = [*PARKING, "駐車場が狭い、電話は090-1234-5678です", "待ち時間が長い", "職員さんが親切",
                "土曜も開けてほしい"] * 3
    insert_responses(engine, [{"facility": FACILITIES[i % 3], "submitted_at": datetime(2025, 5, 1, 1),
                               "satisfaction": 1 + i % 4, "comment": text} for i, text in enumerate(comments)])
    version_id = catalog_versions.import_catalog(engine, small_catalog_json())
    catalog_versions.publish(engine, version_id)
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    engine.dispose()
    return {"version_id": version_id, "url": url}


@pytest.fixture
def discovered_run(app, comments_run):
    """A later run in which discovery grouped the parking comments as D01 (the others: catalog themes)."""
    keywords = {"駐車場": "D01", "待ち": "T07", "親切": "T01", "土曜": "T08"}
    with app.app_context():
        run = AnalysisRun(status="complete", finished_at=datetime(2030, 1, 1), catalog_version="small")
        db.session.add(run)
        db.session.flush()
        for response in db.session.scalars(select(Response)):
            code = next(c for word, c in keywords.items() if word in response.comment)
            source = "discovery" if code == "D01" else "catalog"
            db.session.add(ResponseTheme(run_id=run.id, response_id=response.id, theme_id=code, score=0.9,
                                         source=source))
            db.session.add(ThemeMention(run_id=run.id, response_id=response.id, theme_id=code,
                                        polarity="request", score=0.9, span_start=0, span_end=5, rank=0))
        for code, label, source in [("D01", "駐車場が狭い", "discovery"), ("T07", "待ち時間", "catalog"),
                                    ("T01", "親切な対応", "catalog"), ("T08", "開庁時間", "catalog")]:
            db.session.add(Theme(run_id=run.id, theme_id=code, label=label, source=source))
        db.session.commit()
        return run.id


PAGES = ["/themes/catalog/", "/themes/catalog/1", "/themes/catalog/1/progress", "/themes/catalog/1/export",
         "/themes/catalog/diff?from=1&to=1", "/themes/catalog/promote"]


@pytest.mark.parametrize("path", PAGES)
def test_managers_get_404_and_anonymous_visitors_the_login_page(app, manager_client, path):
    catalog_versions.ensure_shipped_version(store.get_engine(database_url(app)))
    assert manager_client.get(path).status_code == 404
    response = app.test_client().get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_managers_cannot_publish_nor_import(app, manager_client, comments_run):
    before = versions(app)
    token = csrf(manager_client, "/auth/password")
    assert manager_client.post("/themes/catalog/1/publish", data={"csrf_token": token}).status_code == 404
    assert manager_client.post("/themes/catalog/retrain", data={"csrf_token": token}).status_code == 404
    assert versions(app) == before
    assert "テーマカタログ" not in manager_client.get("/reports/").get_data(as_text=True)


@pytest.mark.parametrize("client_fixture", ["analyst_client", "admin_client"])
def test_analysts_and_admins_see_the_versions(app, request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    html = client.get("/themes/catalog/").get_data(as_text=True)
    assert "テーマカタログの版" in html and "同梱の標準カタログ" in html
    assert 'href="/themes/catalog/"' in client.get("/reports/").get_data(as_text=True)


def test_every_form_needs_its_csrf_token(app, analyst_client, comments_run):
    before = versions(app)
    assert analyst_client.post("/themes/catalog/1/publish").status_code == 400
    assert analyst_client.post("/themes/catalog/retrain").status_code == 400
    response = analyst_client.post("/themes/catalog/import", data={
        "file": (io.BytesIO(small_catalog_json().encode()), "x.json")}, content_type="multipart/form-data")
    assert response.status_code == 400 and "もう一度お試しください" in response.get_data(as_text=True)
    assert analyst_client.post("/themes/catalog/promote", data={"theme": "D01"}).status_code == 400
    assert versions(app) == before
    with app.app_context():
        assert catalog_versions.published_catalog(db.engine)["id"] == comments_run["version_id"]


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "JSON として読めません"),
    (json.dumps({**SMALL_CATALOG, "examples": [{"comment": "駐車場", "labels": "T99:R"}]}), "T99"),
])
def test_importing_a_bad_file_shows_why_and_stores_nothing(app, analyst_client, content, fragment):
    analyst_client.get("/themes/catalog/")  # stores the shipped catalog as the first version
    assert versions(app) == 1
    response = import_small(analyst_client, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "何も取り込んでいません" in html and fragment in html
    assert versions(app) == 1 and audit(app) == []


def test_import_publish_then_the_next_run_uses_it_and_restore(app, analyst_client, tmp_path):
    engine = store.get_engine(database_url(app))
    insert_responses(engine, [{"facility": FACILITIES[0], "submitted_at": datetime(2025, 5, 1, 1),
                               "satisfaction": 1, "comment": text} for text in ["待ち時間が長い", "親切"] * 3])
    response = import_small(analyst_client)
    assert response.status_code == 302
    version_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = analyst_client.get(f"/themes/catalog/{version_id}").get_data(as_text=True)
    assert "この版を公開する" in page and "小さな版" in page
    response = analyst_client.post(f"/themes/catalog/{version_id}/publish",
                                   data={"csrf_token": csrf(analyst_client, f"/themes/catalog/{version_id}")})
    assert response.status_code == 302
    label = catalog_versions.get_version(engine, version_id)["label"]
    assert "を公開しました" in analyst_client.get("/themes/catalog/").get_data(as_text=True)
    published_file = tmp_path / "published-catalog.json"
    assert json.loads(published_file.read_text(encoding="utf-8"))["version"] == label
    assert cli.main(["run", "--database-url", database_url(app), "--k", "2"]) == 0
    assert store.latest_run(engine)["catalog_version"] == label

    shipped = version_id - 1
    page = analyst_client.get(f"/themes/catalog/{shipped}").get_data(as_text=True)
    assert "この版に戻す" in page
    analyst_client.post(f"/themes/catalog/{shipped}/publish",
                        data={"csrf_token": csrf(analyst_client, f"/themes/catalog/{shipped}")})
    assert "に戻しました" in analyst_client.get("/themes/catalog/").get_data(as_text=True)
    assert catalog_versions.published_catalog(engine)["id"] == shipped
    assert json.loads(published_file.read_text(encoding="utf-8"))["themes"][0]["name"] == "丁寧・親切な対応"
    assert audit(app) == ["catalog.import", "catalog.publish", "catalog.restore"]
    engine.dispose()


def test_retrain_runs_in_the_background_then_shows_figures_and_the_preview(app, analyst_client, comments_run):
    response = analyst_client.post("/themes/catalog/retrain",
                                   data={"csrf_token": csrf(analyst_client), "note": "判断を反映"})
    assert response.status_code == 302
    version_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    state = analyst_client.get(f"/themes/catalog/{version_id}/progress").get_json()
    assert state["status"] in ("training", "ready") and "total" in state
    assert wait_until_trained(analyst_client, version_id)["status"] == "ready"
    html = analyst_client.get(f"/themes/catalog/{version_id}").get_data(as_text=True)
    figures = html.split('id="cv-figures"')[1].split("</table>")[0]
    assert "テーマ検出 micro-F1" in figures and figures.count("%") >= 8  # current and candidate
    assert 'id="preview-summary"' in html and "この版を公開する" in html
    assert audit(app)[-1] == "catalog.retrain"


def test_diff_page_lists_the_changes_between_two_versions(app, analyst_client, comments_run):
    engine = store.get_engine(comments_run["url"])
    promoted = catalog_versions.promote_theme(SMALL_CATALOG, "T12", "駐車場", "",
                                              [{"comment": c, "labels": "T12:R"} for c in PARKING])
    new_id = catalog_versions.import_catalog(engine, json.dumps(promoted, ensure_ascii=False))
    html = analyst_client.get(f"/themes/catalog/diff?from={comments_run['version_id']}&to={new_id}").get_data(
        as_text=True)
    assert "追加：T12「駐車場」" in html
    assert '<tr data-theme="T12"><th scope="row">T12 駐車場</th><td>0</td><td>5</td></tr>' in html
    assert analyst_client.get("/themes/catalog/diff?from=1&to=999").status_code == 404
    engine.dispose()


def test_promoting_a_discovered_theme_builds_a_version_with_its_reviewed_comments(app, analyst_client,
                                                                                 comments_run, discovered_run):
    page = analyst_client.get("/themes/catalog/promote").get_data(as_text=True)
    discovered = page.split('id="promote-theme"')[1].split("</select>")[0]
    theme = discovered.split('value="')[1].split('"')[0]
    assert theme == "D01" and "駐車場が狭い（18 件）" in discovered
    page = analyst_client.get(f"/themes/catalog/promote?theme={theme}").get_data(as_text=True)
    assert "090-1234-5678" not in page and 'value="T09"' in page  # the next free code
    ids = [part.split('"')[0] for part in page.split('name="response" value="')[1:]]
    assert len(ids) == len(PARKING) + 1  # each distinct comment once
    token = csrf(analyst_client, f"/themes/catalog/promote?theme={theme}")
    too_few = analyst_client.post("/themes/catalog/promote", data={
        "csrf_token": token, "theme": theme, "theme_id": "T09", "name": "駐車場", "response": ids[:1]})
    assert too_few.status_code == 400 and "2件以上" in too_few.get_data(as_text=True)
    before = versions(app)
    assert before == 2
    response = analyst_client.post("/themes/catalog/promote", data={
        "csrf_token": token, "theme": theme, "theme_id": "T09", "name": "駐車場", "description": "車の声",
        "response": ids})
    assert response.status_code == 302
    version_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert wait_until_trained(analyst_client, version_id)["status"] == "ready"
    version = catalog_versions.get_version(store.get_engine(comments_run["url"]), version_id)
    assert version["catalog"]["themes"][-1] == {"code": "T09", "name": "駐車場", "description": "車の声",
                                                "seed_words": [], "examples": []}
    new_examples = [e for e in version["catalog"]["examples"] if "T09" in e["labels"]]
    assert len(new_examples) == len(ids)
    assert all("090-1234-5678" not in e["comment"] for e in new_examples)
    moves = {(m["from"], m["to"]): m for m in version["preview"]["moves"]}
    assert moves[("D01", "T09")]["count"] >= 10 and moves[("D01", "T09")]["from_label"] == "駐車場が狭い"
    html = analyst_client.get(f"/themes/catalog/{version_id}").get_data(as_text=True)
    assert 'data-move="D01-T09"' in html and "090-1234-5678" not in html


def test_decisions_naming_analyst_themes_or_no_content_are_mapped_or_left_out_not_a_failed_retrain(
        app):
    from analysis import decisions

    from ..analysis.test_decisions import insert

    insert(app, [*PARKING, "職員さんが親切", "待ち時間が長い", "土曜も開けてほしい"] * 2)  # with comment_masked
    url = database_url(app)
    engine = store.get_engine(url)
    small_id = catalog_versions.import_catalog(engine, small_catalog_json())
    catalog_versions.publish(engine, small_id)
    assert cli.main(["run", "--database-url", url, "--k", "2", "--jobs", "1"]) == 0
    decisions.store_decisions(engine, [(text, "T07:R") for text in PARKING])
    parking = set(store.read_responses(engine).query("comment in @PARKING")["response_id"])
    ids = [int(i) for i in parking]
    _edit, analyst = decisions.split_theme(engine, "T07", ids, "駐車場")  # A01, named 駐車場
    decisions.store_decisions(engine, [("職員さんが親切", "A09:P"), ("待ち時間が長い", decisions.NO_CONTENT)])
    examples = catalog_versions.decision_examples(engine)
    assert {e["labels"] for e in examples} >= {f"{analyst}:R", "A09:P", "T00:N"}

    # The small catalog has neither theme: their decisions are left out, and the note says so.
    version = catalog_versions.retrain(engine, extra_examples=examples, note="再学習")
    assert version["status"] == "ready"
    assert version["note"].startswith("再学習 判断 ") and f"（{analyst}、A09）" in version["note"]
    labels = {e["comment"]: e["labels"] for e in version["catalog"]["examples"]}
    assert labels["待ち時間が長い"] == "T00:N" and "職員さんが親切" not in labels
    assert not any(code in labels.values() for code in (f"{analyst}:R", "A09:P"))

    # Promoted under its name, the analyst theme's decisions teach the new catalog theme.
    promoted = catalog_versions.promote_theme(SMALL_CATALOG, "T12", "駐車場", "",
                                              [{"comment": c, "labels": "T12:R"} for c in PARKING[:2]])
    version_id = catalog_versions.start_retrain(engine, small_id, examples,
                                                catalog=promoted, note="昇格")
    version = catalog_versions.run_retrain(engine, version_id)
    assert version["status"] == "ready" and "（A09）" in version["note"] and analyst not in version["note"]
    labels = {e["comment"]: e["labels"] for e in version["catalog"]["examples"]}
    assert all(labels[text] == "T12:R" for text in PARKING)
    engine.dispose()
