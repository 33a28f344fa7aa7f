"""Analysts' decisions: stored by comment fingerprint, applied to runs, undone, imported."""
import csv
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from analysis import cli, decisions, store
from survey_app.extensions import db
from survey_app.models import Facility, Response

COMMENTS = [
    "待ち時間が長い", "相談員さんが親切でした", "求人検索のパソコンを増やしてほしい", "特になし",
    "駐車場が狭い", "土曜日も開けてほしい", "丁寧に話を聞いてもらえた", "就職が決まりました",
    "応募書類を添削してもらえて助かった", "駅から近くて便利", "休日の午前中も開いてほしい",
    "職員の対応が良かった", "予約が取りにくい", "生活保護の相談と仕事探しが同じ場所でできた",
    "トイレをきれいにしてほしい", "自販機がほしい", "エレベーターがほしい", "掲示が見にくい",
]
PARKING = "駐車場が狭い"


def insert(app, comments):
    """Insert answers through the model (so comment_masked is written as in production)."""
    with app.app_context():
        facility = db.session.scalars(db.select(Facility)).first()
        start = datetime(2025, 4, 10, 1, 0)
        db.session.add_all([Response(
            client_uuid=str(uuid.uuid4()), facility_id=facility.id, form_version=1, channel="api",
            submitted_at=start + timedelta(hours=i), fiscal_year=2025, satisfaction=1 + i % 4,
            establishment=1, services=[], comment=text, content_hash="0" * 64)
            for i, text in enumerate(comments)])
        db.session.commit()


@pytest.fixture
def db_url(app):
    with app.app_context():
        return db.engine.url.render_as_string(hide_password=False)


def run(db_url):
    assert cli.main(["run", "--database-url", db_url, "--k", "2", "--jobs", "1"]) == 0


def labels_by_comment(db_url):
    """comment -> (labels of the latest run, response_themes.source), one per distinct text."""
    engine = store.get_engine(db_url)
    tm, rt = store.theme_mentions.c, store.response_themes.c
    run_id = store.latest_run(engine)["id"]
    with engine.connect() as connection:
        texts = dict(connection.execute(sa.text("SELECT id, comment FROM responses")).all())
        points = connection.execute(sa.select(tm.response_id, tm.theme_id, tm.polarity)
                                    .where(tm.run_id == run_id).order_by(tm.response_id, tm.rank)).all()
        sources = dict(connection.execute(sa.select(rt.response_id, rt.source).where(rt.run_id == run_id)).all())
    labels = {}
    for response_id, code, polarity in points:
        labels.setdefault(response_id, []).append(f"{code}:{polarity[0].upper()}")
    return {texts[i]: (";".join(labels.get(i, [])), sources[i]) for i in texts}


@pytest.mark.parametrize("given, expected", [
    ("t07:r; T01:P", "T07:R;T01:P"),
    ("T00:N", "T00:N"),
    ("T00", "T00:N"),
    ("A01:P", "A01:P"),
])
def test_labels_are_checked_and_written_canonically(given, expected):
    assert decisions.normalise_labels(given) == expected


@pytest.mark.parametrize("given, fragment", [
    ("", "テーマを1つ以上"),
    ("T07", "「評価」か「要望」"),
    ("T07:R;T07:P", "2回"),
    ("T00:N;T07:R", "内容なし"),
    ("D03:R", "発見されたテーマ"),
    ("xyz:R", "読めません"),
])
def test_bad_label_sets_are_refused_with_a_japanese_reason(given, fragment):
    with pytest.raises(decisions.DecisionError) as error:
        decisions.normalise_labels(given)
    assert fragment in error.value.ja


def test_the_fingerprint_is_that_of_the_masked_nfkc_text():
    assert decisions.fingerprint("ＰＣが少ない") == decisions.fingerprint("PCが少ない")
    assert decisions.fingerprint("PCが少ない") != decisions.fingerprint("PCが多い")
    assert decisions.fingerprint("") is None


def test_a_decision_applies_to_identical_comments_now_and_survives_reruns(app, db_url):
    insert(app, COMMENTS * 2)
    run(db_url)
    before = labels_by_comment(db_url)[PARKING][0]
    assert before != "T03:P"
    [decision_id] = decisions.store_decisions(db_url, [(PARKING, "T03:P;T07:R")], user_id=None)
    # Both identical answers of the current run carry it at once.
    assert labels_by_comment(db_url)[PARKING] == ("T03:P;T07:R", "decision")
    run(db_url)
    assert labels_by_comment(db_url)[PARKING] == ("T03:P;T07:R", "decision")
    # A later identical answer gets it from the next run; the model never overrides it.
    insert(app, [PARKING])
    run(db_url)
    engine = store.get_engine(db_url)
    sets = store.read_mentions(engine).groupby("response_id")["theme_id"].apply(";".join)
    assert (sets == "T03;T07").sum() == 3
    assert store.read_themes(engine).set_index("theme_id").loc["T03", "label"] != "T03"
    frame = decisions.read_decisions(db_url)
    assert frame["labels"].tolist() == ["T03:P;T07:R"] and frame["model_labels"].tolist() == [before]
    assert decisions.decisions_as_examples(db_url) == [{"comment": PARKING, "labels": "T03:P;T07:R"}]
    # Undone: the model's labels come back at once, and in the next run.
    assert decisions.undo_decision(db_url, decision_id)
    assert labels_by_comment(db_url)[PARKING][0] == before
    run(db_url)
    assert labels_by_comment(db_url)[PARKING] == (before, labels_by_comment(db_url)[PARKING][1])
    assert labels_by_comment(db_url)[PARKING][1] != "decision"
    assert decisions.decisions_as_examples(db_url) == []


def test_the_latest_decision_wins_and_undoing_it_brings_back_the_one_before(app, db_url):
    insert(app, COMMENTS)
    run(db_url)
    first, second = (decisions.store_decisions(db_url, [(PARKING, labels)])[0]
                     for labels in ("T03:R", "T00:N"))
    assert labels_by_comment(db_url)[PARKING] == ("", "no_comment")
    decisions.undo_decision(db_url, second)
    assert labels_by_comment(db_url)[PARKING] == ("T03:R", "decision")
    assert decisions.read_decisions(db_url)["id"].tolist() == [first]
    assert not decisions.undo_decision(db_url, second)  # already undone


def test_renaming_a_discovered_theme_keeps_its_name_on_its_comments_after_a_rerun(app, db_url):
    insert(app, COMMENTS)
    assert cli.main(["run", "--database-url", db_url, "--catalog", "none", "--k", "3"]) == 0
    themes = store.read_themes(db_url)
    code = themes["theme_id"].iloc[0]
    members = set(store.read_mentions(db_url).query("theme_id == @code")["response_id"])
    edit_id, new_code = decisions.rename_theme(db_url, code, "設備への要望")
    assert new_code == "A01"
    assert cli.main(["run", "--database-url", db_url, "--catalog", "none", "--k", "3"]) == 0
    after = store.read_mentions(db_url)
    assert set(after.query("theme_id == 'A01'")["response_id"]) == members
    assert store.read_themes(db_url).set_index("theme_id").loc["A01", "label"] == "設備への要望"
    # Undone: the comments go back to discovery in the next run.
    assert decisions.undo_edit(db_url, edit_id)
    assert cli.main(["run", "--database-url", db_url, "--catalog", "none", "--k", "3"]) == 0
    assert "A01" not in set(store.read_mentions(db_url)["theme_id"])


def test_merge_and_split_move_comments_to_stable_codes(app, db_url):
    insert(app, COMMENTS)
    run(db_url)
    mentions = store.read_mentions(db_url)
    codes = mentions["theme_id"].value_counts().index.tolist()
    source, target = [c for c in codes if c.startswith("T")][:2]
    moved = set(mentions.query("theme_id == @source")["response_id"])
    decisions.merge_themes(db_url, source, target)
    after = store.read_mentions(db_url)
    assert source not in set(after["theme_id"])
    assert moved <= set(after.query("theme_id == @target")["response_id"])
    chosen = sorted(moved)[:1]
    _edit, new_code = decisions.split_theme(db_url, target, chosen, "新しいテーマ")
    assert new_code == "A01"
    after = store.read_mentions(db_url)
    assert set(after.query("theme_id == 'A01'")["response_id"]) == set(chosen)
    assert store.read_themes(db_url).set_index("theme_id").loc["A01", "label"] == "新しいテーマ"
    _edit, second = decisions.split_theme(db_url, target, sorted(set(after.query("theme_id == @target")
                                                                    ["response_id"]))[:1], "もう一つ")
    assert second == "A02"  # never a T.. or D.. code, never reused
    with pytest.raises(decisions.DecisionError):
        decisions.merge_themes(db_url, target, target)


def test_renaming_a_catalog_theme_sets_its_label_and_undo_gives_the_old_one_back(app, db_url):
    insert(app, COMMENTS)
    run(db_url)
    code = store.read_themes(db_url).query("source == 'catalog'")["theme_id"].iloc[0]
    old = store.read_themes(db_url).set_index("theme_id").loc[code, "label"]
    edit_id, same = decisions.rename_theme(db_url, code, "  待ち時間  ")
    assert same == code and decisions.theme_names(db_url) == {code: "待ち時間"}
    assert store.read_themes(db_url).set_index("theme_id").loc[code, "label"] == "待ち時間"
    run(db_url)
    assert store.read_themes(db_url).set_index("theme_id").loc[code, "label"] == "待ち時間"
    decisions.undo_edit(db_url, edit_id)
    assert store.read_themes(db_url).set_index("theme_id").loc[code, "label"] == old


def test_decisions_export_and_import_use_the_dev_set_columns(app, db_url, tmp_path, capsys):
    insert(app, COMMENTS)
    run(db_url)
    decisions.store_decisions(db_url, [(PARKING, "T03:R"), ("特になし", "T00:N")])
    out = tmp_path / "decisions.csv"
    assert cli.main(["decisions", "export", "--database-url", db_url, "--output", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["comment"], r["labels"]) for r in rows] == [(PARKING, "T03:R"), ("特になし", "T00:N")]
    assert list(rows[0]) == ["id", "comment", "labels"]
    given = tmp_path / "given.csv"
    given.write_text("id,comment,labels\n1,待ち時間が長い,t07:r;T01:P\n2,田中さんが親切,T01:P\n",
                     encoding="utf-8")
    assert cli.main(["decisions", "import", str(given), "--database-url", db_url]) == 0
    frame = decisions.read_decisions(db_url)
    assert dict(zip(frame["comment"], frame["labels"]))["待ち時間が長い"] == "T07:R;T01:P"
    assert "〇〇さんが親切" in set(frame["comment"])  # stored masked, like the comments it matches
    assert labels_by_comment(db_url)["待ち時間が長い"] == ("T07:R;T01:P", "decision")
    engine = store.get_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT target FROM audit_events WHERE action = 'cli.decisions_imported'")).scalar() == "2件"


def test_an_import_with_one_bad_line_stores_nothing(app, db_url, tmp_path, capsys):
    given = tmp_path / "given.csv"
    given.write_text("id,comment,labels\n1,待ち時間が長い,T07:R\n2,駐車場が狭い,D01:R\n", encoding="utf-8")
    assert cli.main(["decisions", "import", str(given), "--database-url", db_url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 3" in err[0] and "D01" in err[0]
    assert decisions.read_decisions(db_url, include_undone=True).empty


def test_decided_themes_of_repeated_comments_count_every_answer_and_keep_their_centroids(app, db_url):
    # `run` themes distinct comments: a decision's recount weighs each by its answers.
    insert(app, COMMENTS * 3)
    decisions.store_decisions(db_url, [(PARKING, "T03:P;T07:R")])
    assert cli.main(["run", "--database-url", db_url, "--catalog", "none", "--k", "3", "--jobs", "1"]) == 0
    engine = store.get_engine(db_url)
    answers = store.read_mentions(engine).groupby("theme_id")["response_id"].nunique()
    sizes = store.read_themes(engine).dropna(subset=["theme_id"]).set_index("theme_id")["size"]
    assert sizes.to_dict() == answers.to_dict() and sizes["T03"] == 3
    # Discovered themes still get their centroids, for incremental runs to join them.
    assert store.read_centroids(engine)


def test_a_decision_after_an_incremental_run_applies_to_the_results_it_extends(app, db_url):
    insert(app, COMMENTS)
    run(db_url)
    insert(app, [PARKING])
    assert cli.main(["run", "--database-url", db_url, "--k", "2", "--jobs", "1", "--incremental"]) == 0
    engine = store.get_engine(db_url)
    latest = store.latest_run(engine)
    assert latest["results_run_id"] != latest["id"]
    decisions.store_decisions(db_url, [(PARKING, "T03:P")])
    mentions = store.read_mentions(engine)
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM responses WHERE comment = :t"),
                                 {"t": PARKING}).scalars().all()
    parking = mentions[mentions["response_id"].isin(ids)]
    assert len(ids) == 2 and parking["theme_id"].tolist() == ["T03", "T03"]
    with engine.connect() as connection:  # no rows under the incremental run itself
        assert connection.execute(sa.text("SELECT count(*) FROM theme_mentions WHERE run_id = :r"),
                                  {"r": latest["id"]}).scalar_one() == 0
