"""The theme workbench: who reaches it, what it lists, and decisions made through its forms."""
import re

import pytest
import sqlalchemy as sa

from analysis import cli, decisions, store
from survey_app.extensions import db
from survey_app.models import AuditEvent, ThemeDecision, ThemeEdit

from ..analysis.test_decisions import COMMENTS, PARKING, insert, labels_by_comment
from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import CSRF_PATTERN
from .test_api import body, post


@pytest.fixture
def db_url(app):
    with app.app_context():
        return db.engine.url.render_as_string(hide_password=False)


def run(db_url):
    assert cli.main(["run", "--database-url", db_url, "--k", "2", "--jobs", "1"]) == 0


@pytest.fixture
def analysed(app, db_url):
    insert(app, COMMENTS * 2 + ["田中さんに電話 090-1234-5678 で相談できた"])
    run(db_url)
    return db_url


def csrf(page: str) -> str:
    match = CSRF_PATTERN.search(page)
    assert match
    return match.group(1) or match.group(2)


def theme_of(db_url, text):
    """A theme code of the latest run that mentions `text` (the 未分類 page's when none does),
    and its response ids."""
    mentions = store.read_mentions(db_url)
    with store.get_engine(db_url).connect() as connection:
        ids = [i for (i,) in connection.execute(sa.text("SELECT id FROM responses WHERE comment = :t"), {"t": text})]
    found = mentions[mentions["response_id"].isin(ids)]["theme_id"]
    return (found.iloc[0] if len(found) else "unclassified"), ids


def decide(client, code, response_id, rows, action="save"):
    page = client.get(f"/themes/{code}").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "response_id": str(response_id), "action": action,
            "next": f"/themes/{code}"}
    for index, (theme, polarity) in enumerate(rows):
        data[f"theme_{index}"], data[f"polarity_{index}"] = theme, polarity
    return client.post("/themes/decide", data=data)


def audit_actions(app):
    with app.app_context():
        return [(e.action, e.target) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_see_every_theme_with_counts_and_unclassified(app, analysed, role):
    client = logged_in(app, f"{role}-1", role)  # noqa: F405
    page = client.get("/themes/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    themes = store.read_themes(analysed)
    counts = store.mention_counts(analysed).groupby("theme_id")["respondents"].sum()
    for code, label in zip(themes["theme_id"], themes["label"]):
        assert f"/themes/{code}" in html and label in html
    assert "未分類" in html and "/themes/unclassified" in html
    code = counts.idxmax()
    assert re.search(rf"/themes/{code}\">.*?</th>\s*<td>[^<]*</td>\s*<td class=\"num\">{counts.max()}件", html, re.S)
    assert "の声の月別推移" in html  # the monthly trend of each theme


def test_managers_never_reach_the_workbench(app, analysed, manager_client):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    for url in ("/themes/", f"/themes/{code}", "/themes/history", "/themes/unclassified"):
        assert manager_client.get(url).status_code == 404
    page = manager_client.get("/reports/").get_data(as_text=True)
    assert "テーマの確認・修正" not in page
    reply = manager_client.post("/themes/decide", data={"response_id": ids[0], "theme_0": "T01",
                                                        "polarity_0": "praise", "csrf_token": csrf(page)})
    assert reply.status_code == 404
    assert decisions.read_decisions(analysed).empty


def test_anonymous_visitors_are_sent_to_the_login_page(client, analysed):
    reply = client.get("/themes/")
    assert reply.status_code == 302 and "/auth/login" in reply.headers["Location"]


def test_a_theme_lists_its_masked_comments_least_certain_first_with_filters(app, analysed, analyst_client):  # noqa: F811
    mentions = store.read_mentions(analysed)
    code = mentions["theme_id"].value_counts().idxmax()
    html = analyst_client.get(f"/themes/{code}").get_data(as_text=True)
    shown = [float(s) for s in re.findall(r"確信度 ([0-9.]+)", html)]
    assert shown and shown == sorted(shown)
    assert "090-1234-5678" not in html and "田中" not in html
    pii_code, _ids = theme_of(analysed, "田中さんに電話 090-1234-5678 で相談できた")
    html = analyst_client.get(f"/themes/{pii_code}?q=相談できた").get_data(as_text=True)
    assert "〇〇さんに電話 [電話番号] で相談できた" in html
    assert ">1件<" in html
    # Search reads the masked text only: the masked phone number is not found.
    assert ">0件<" in analyst_client.get(f"/themes/{pii_code}?q=090").get_data(as_text=True)
    used = store.read_responses(analysed)["facility_code"].iloc[0]
    other_facility = next(c for c in ("aomori-young-job-plaza", "job-station-gifu") if c != used)
    assert ">0件<" in analyst_client.get(f"/themes/{code}?facility={other_facility}").get_data(as_text=True)
    total = int((mentions["theme_id"] == code).sum())
    assert f">{total}件<" in analyst_client.get(f"/themes/{code}?facility={used}").get_data(as_text=True)
    other = "request" if "praise" in set(mentions.query("theme_id == @code")["polarity"]) else "praise"
    expected = int((mentions.query("theme_id == @code")["polarity"] == other).sum())
    assert f">{expected}件<" in analyst_client.get(f"/themes/{code}?polarity={other}").get_data(as_text=True)
    assert analyst_client.get("/themes/T99").status_code == 404
    assert analyst_client.get("/themes/<x>").status_code == 404


def test_a_decision_corrects_identical_comments_survives_a_rerun_and_can_be_undone(app, analysed, analyst_client):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    before = labels_by_comment(analysed)[PARKING][0]
    reply = decide(analyst_client, code, ids[0], [("T03", "praise"), ("T07", "request")])
    assert reply.status_code == 303
    assert labels_by_comment(analysed)[PARKING] == ("T03:P;T07:R", "decision")
    with app.app_context():
        decision = db.session.scalars(sa.select(ThemeDecision)).one()
        assert decision.fingerprint == decisions.fingerprint(PARKING) and decision.user_id
    assert ("workbench.decision", f"decision:{decision.id} T03:P;T07:R") in audit_actions(app)
    run(analysed)
    assert labels_by_comment(analysed)[PARKING] == ("T03:P;T07:R", "decision")
    page = analyst_client.get("/themes/T03").get_data(as_text=True)
    assert "修正済み（analyst-user" in page
    reply = analyst_client.post(f"/themes/decisions/{decision.id}/undo",
                                data={"csrf_token": csrf(page), "next": "/themes/T03"})
    assert reply.status_code == 303 and reply.headers["Location"].endswith("/themes/T03")
    assert labels_by_comment(analysed)[PARKING][0] == before
    assert ("workbench.decision_undone", f"decision:{decision.id}") in audit_actions(app)
    run(analysed)
    assert labels_by_comment(analysed)[PARKING][1] != "decision"


def test_marking_a_comment_as_saying_nothing_makes_it_a_no_comment_answer(app, analysed, analyst_client):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    assert decide(analyst_client, code, ids[0], [], action="no_content").status_code == 303
    assert labels_by_comment(analysed)[PARKING] == ("", "no_comment")
    run(analysed)
    assert labels_by_comment(analysed)[PARKING] == ("", "no_comment")


def test_a_decision_applies_to_an_identical_comment_submitted_later_through_the_api(
        app, client, device, analysed, analyst_client):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    decide(analyst_client, code, ids[0], [("T03", "request")])
    data = body()
    data["answers"]["comment"] = "駐車場が狭い"
    assert post(client, device, data).status_code == 201
    run(analysed)
    with store.get_engine(analysed).connect() as connection:
        new_id = connection.execute(sa.text("SELECT id FROM responses WHERE client_uuid = :u"),
                                    {"u": data["id"]}).scalar_one()
    mentions = store.read_mentions(analysed).query("response_id == @new_id")
    assert list(zip(mentions["theme_id"], mentions["polarity"])) == [("T03", "request")]


@pytest.mark.parametrize("rows, message", [
    ([("T99", "praise")], "最新の分析にありません"),
    ([("T03", "maybe")], "「評価」か「要望」"),
    ([("T03", "praise"), ("T03", "request")], "2回"),
    ([], "テーマを1つ以上"),
])
def test_a_bad_decision_is_refused_in_japanese_and_stores_nothing(app, analysed, analyst_client, rows, message):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    reply = decide(analyst_client, code, ids[0], rows)
    assert reply.status_code == 400
    assert message in reply.get_data(as_text=True)
    assert decisions.read_decisions(analysed, include_undone=True).empty


def test_every_workbench_form_needs_its_csrf_token(app, analysed, analyst_client):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    for url, data in (("/themes/decide", {"response_id": ids[0], "theme_0": "T03", "polarity_0": "praise"}),
                      (f"/themes/{code}/rename", {"label": "x"}),
                      (f"/themes/{code}/split", {"label": "x", "response_id": ids[0]})):
        reply = analyst_client.post(url, data=data)
        assert reply.status_code == 400 and "もう一度お試しください" in reply.get_data(as_text=True)
    assert decisions.read_decisions(analysed, include_undone=True).empty
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ThemeEdit)) == 0


def test_rename_merge_and_split_through_the_pages_are_audited_and_undoable(app, analysed, analyst_client):  # noqa: F811
    code, ids = theme_of(analysed, PARKING)
    page = analyst_client.get(f"/themes/{code}").get_data(as_text=True)
    token = csrf(page)
    reply = analyst_client.post(f"/themes/{code}/split", data={"csrf_token": token, "label": "駐車場",
                                                                "response_id": [str(i) for i in ids]})
    assert reply.status_code == 303 and reply.headers["Location"].endswith("/themes/A01")
    assert "駐車場" in analyst_client.get("/themes/A01").get_data(as_text=True)
    assert set(store.read_mentions(analysed).query("theme_id == 'A01'")["response_id"]) == set(ids)
    reply = analyst_client.post("/themes/A01/rename", data={"csrf_token": token, "label": "駐車場の広さ"})
    assert reply.status_code == 303
    assert store.read_themes(analysed).set_index("theme_id").loc["A01", "label"] == "駐車場の広さ"
    target = next(c for c in store.read_themes(analysed)["theme_id"] if c.startswith("T") and c != code)
    reply = analyst_client.post("/themes/A01/merge", data={"csrf_token": token, "into": target})
    assert reply.status_code == 303
    assert set(ids) <= set(store.read_mentions(analysed).query("theme_id == @target")["response_id"])
    actions = [action for action, _ in audit_actions(app)]
    assert {"workbench.theme_split", "workbench.theme_renamed", "workbench.theme_merged"} <= set(actions)
    assert analyst_client.post("/themes/A01/rename", data={"csrf_token": token, "label": " "}).status_code == 400
    history = analyst_client.get("/themes/history").get_data(as_text=True)
    assert "統合：A01 → " + target in history
    with app.app_context():
        merge_id = db.session.scalar(sa.select(ThemeEdit.id).where(ThemeEdit.kind == "merge"))
    reply = analyst_client.post(f"/themes/edits/{merge_id}/undo", data={"csrf_token": token})
    assert reply.status_code == 303
    assert set(store.read_mentions(analysed).query("theme_id == 'A01'")["response_id"]) == set(ids)
    assert ("workbench.edit_undone", f"edit:{merge_id}") in audit_actions(app)


def overview_themes(client) -> str:
    """The theme cells of the report overview, as a reader sees them."""
    html = client.get("/reports/").get_data(as_text=True)
    return " ".join(re.findall(r'<td class="themes-cell">(.*?)</td>', html, re.S))


def test_the_report_overview_shows_a_decision_at_once_not_cached_counts(app, analysed, analyst_client):
    before = overview_themes(analyst_client)  # the overview caches the run's theme counts
    with app.app_context():
        from survey_app.workbench.queries import catalog_names

        names = catalog_names(store.latest_run(db.engine))
    code, label = next((c, n) for c, n in sorted(names.items()) if n not in before)
    texts = [t for t in COMMENTS if t != "特になし"][:5]
    for text in texts:
        current, ids = theme_of(analysed, text)
        assert decide(analyst_client, current, ids[0], [(code, "request")]).status_code == 303
    # Ten of the facility's comments now have the theme: the largest, shown at once.
    first = re.search(r'<ol class="theme-list"><li>([^<]*)<', overview_themes(analyst_client))
    assert first and first.group(1).strip() == label


def test_after_an_incremental_run_the_workbench_lists_the_results_it_extends(app, analysed, analyst_client):  # noqa: F811
    insert(app, [PARKING])
    assert cli.main(["run", "--database-url", analysed, "--k", "2", "--jobs", "1", "--incremental"]) == 0
    run_ = store.latest_run(analysed)
    assert run_["results_run_id"] != run_["id"]
    html = analyst_client.get("/themes/").get_data(as_text=True)
    themes = store.read_themes(analysed)
    assert len(themes) and all(f"/themes/{code}" in html for code in themes["theme_id"].dropna())
    code, ids = theme_of(analysed, PARKING)
    page = analyst_client.get(f"/themes/{code}")
    assert page.status_code == 200 and PARKING in page.get_data(as_text=True)
