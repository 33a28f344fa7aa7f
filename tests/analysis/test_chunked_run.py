"""`survey-analysis run` in chunks, incremental runs, and progress off a terminal."""
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from analysis import centroids, cli, store
from analysis.masking import mask_personal_data
from analysis.pipeline import assign_themes
from analysis.text import normalize

from .test_cli import COMMENTS, db_url, table_count  # noqa: F401 (db_url is a fixture)
from .test_store import FACILITIES, insert_responses

REPO_ROOT = Path(__file__).resolve().parents[2]
# Comments that repeat, as a national survey's do, and a few with personal data to mask.
TEXTS = [*COMMENTS, "担当の佐藤さんが親切でした", "090-1234-5678 に電話をください、待ち時間が長い",
         "パソコンが少ない。ただ職員は丁寧", "土日も開けてほしいです", "求人が少ない"]
# Wishes the shipped catalog does not know: discovery groups them.
UNKNOWN = ["コピー機を置いてほしい", "コピー機が使いたい", "コピー機がない", "自動販売機がほしい",
           "自販機を置いてほしい", "自販機がない", "Wi-Fiを使えるようにしてほしい", "フリーWiFiが欲しい",
           "Wi-Fiがほしい", "音楽がうるさい", "BGMを小さくしてほしい", "音楽が大きい", "床が滑りやすい",
           "床が滑って危ない"]


def rows(count, start=datetime(2025, 4, 10, 1, 0), texts=TEXTS, offset=0):
    return [{"facility": FACILITIES[i % len(FACILITIES)], "submitted_at": start + timedelta(hours=i),
             "satisfaction": 1 + i % 4, "comment": texts[(i * 11 + offset) % len(texts)] or None}
            for i in range(count)]


def stored(url):
    """Everything a run stored that the reports read, without the run id."""
    assignments = store.read_theme_assignments(url)
    mentions = store.read_mentions(url)
    themes = store.read_themes(url)
    return (
        sorted(assignments[["response_id", "theme_id", "source"]].itertuples(index=False, name=None),
               key=str),
        assignments.sort_values("response_id")["score"].fillna(-1).tolist(),
        sorted(mentions[["response_id", "theme_id", "polarity", "span_start", "span_end", "rank"]]
               .itertuples(index=False, name=None), key=str),
        sorted(themes[["theme_id", "label", "source", "size"]].itertuples(index=False, name=None), key=str),
    )


def test_a_chunked_run_stores_what_one_chunk_and_every_row_give(db_url):
    engine = store.get_engine(db_url)
    insert_responses(engine, rows(150))
    assert cli.main(["run", "--database-url", db_url, "--k", "3", "--chunk-size", "7"]) == 0
    chunked = stored(db_url)
    assert cli.main(["run", "--database-url", db_url, "--k", "3", "--chunk-size", "100000"]) == 0
    again = stored(db_url)
    # Scores within float noise: BLAS sums may differ in the last bits from one run to the next.
    assert (again[0], again[2], again[3]) == (chunked[0], chunked[2], chunked[3])
    assert again[1] == pytest.approx(chunked[1], abs=1e-6)
    assert table_count(db_url, "response_themes") == 150  # the other run's rows are gone

    # The pipeline on every answer (no distinct table, no chunks) gives the same themes.
    with engine.connect() as connection:
        answers = connection.execute(sa.text("SELECT id, comment FROM responses ORDER BY id")).all()
    result = assign_themes([mask_personal_data(c or "") for _, c in answers], n_themes=3, random_state=0)
    expected = sorted(((int(i), t if isinstance(t, str) else None, s) for i, t, s in zip(
        [a[0] for a in answers], result.assignments["theme_id"], result.assignments["source"])), key=str)
    assert chunked[0] == expected
    sizes = {t: s for t, s in zip(result.themes["theme_id"], result.themes["size"]) if t}
    assert {t: s for t, _l, _src, s in chunked[3] if t} == sizes
    run = store.latest_run(db_url)
    assert run["n_responses"] == 150 and run["last_response_id"] == answers[-1][0]
    engine.dispose()


def test_an_incremental_run_themes_only_the_new_answers_and_keeps_the_rest(db_url, capsys):
    engine = store.get_engine(db_url)
    insert_responses(engine, rows(120, texts=TEXTS + UNKNOWN))
    assert cli.main(["run", "--database-url", db_url, "--k", "3"]) == 0
    base = store.latest_run(db_url)
    before = stored(db_url)
    known = store.read_centroids(db_url)
    assert known and all(code.startswith("D") for code in known)
    capsys.readouterr()

    new_texts = ["相談員さんが親切でした", "求人検索のパソコンを増やしてほしい", "特になし",
                 "自販機がほしいです", "コピー機を置いてほしいです", "受付の方がとても優しかった"]
    insert_responses(engine, rows(12, start=datetime(2025, 9, 1), texts=new_texts))
    assert cli.main(["run", "--database-url", db_url, "--incremental"]) == 0
    out = capsys.readouterr().out
    assert f"12 new answers added to the results of run {base['id']}" in out
    assert "12 answers:" in out  # the pipeline saw the new answers only

    run = store.latest_run(db_url)
    assert run["id"] != base["id"] and run["results_run_id"] == base["id"]
    assert run["parameters"]["incremental"] and run["parameters"]["base_run_id"] == base["id"]
    assert run["n_responses"] == 132
    with engine.connect() as connection:
        new_ids = connection.execute(sa.text("SELECT id, comment FROM responses WHERE id > :last ORDER BY id"),
                                     {"last": base["last_response_id"]}).all()
    assert run["last_response_id"] == new_ids[-1][0]

    after = stored(db_url)
    old = {row[0] for row in before[0]}
    assert [row for row in after[0] if row[0] in old] == before[0]  # old answers untouched
    assert len(after[0]) == 132 and table_count(db_url, "response_themes") == 132

    # Each new answer: its catalog mentions, or the nearest discovered theme of the base run.
    assignments = store.read_theme_assignments(db_url).set_index("response_id")
    alone = assign_themes([mask_personal_data(c) for _, c in new_ids], discover=False)
    for (response_id, comment), theme, source in zip(new_ids, alone.assignments["theme_id"],
                                                     alone.assignments["source"]):
        got = assignments.loc[response_id]
        if source == "unclassified":
            nearest, _score = centroids.nearest([normalize(mask_personal_data(comment))],
                                                {c: t["centroid"] for c, t in known.items()})
            assert (got["theme_id"], got["source"]) == (nearest[0], "discovery")
        else:
            assert (got["theme_id"], got["source"]) == (theme if isinstance(theme, str) else None, source)
    # Theme sizes grew by the new answers; the reports' latest run reads every answer.
    sizes = {t: s for t, _l, _src, s in after[3] if t}
    counts = assignments["theme_id"].value_counts().to_dict()
    assert all(sizes[code] >= count for code, count in counts.items())
    assert store.mention_counts(db_url)["respondents"].sum() == len(store.read_mentions(db_url))
    assert set(store.read_mentions(db_url, run_id=run["id"])["response_id"]) >= {
        i for i, c in new_ids if c != "特になし"}

    # Nothing new: no new run.
    assert cli.main(["run", "--database-url", db_url, "--incremental"]) == 0
    assert "nothing to add" in capsys.readouterr().out
    assert store.latest_run(db_url)["id"] == run["id"]

    # A full run rediscovers and owns its rows again.
    assert cli.main(["run", "--database-url", db_url, "--k", "3"]) == 0
    full = store.latest_run(db_url)
    assert full["results_run_id"] == full["id"] and table_count(db_url, "response_themes") == 132
    engine.dispose()


def test_an_incremental_run_without_a_compatible_base_runs_in_full(db_url, capsys):
    engine = store.get_engine(db_url)
    insert_responses(engine, rows(60))
    assert cli.main(["run", "--database-url", db_url, "--incremental", "--k", "3"]) == 0
    assert "no complete run yet: running a full analysis instead" in capsys.readouterr().err
    assert cli.main(["run", "--database-url", db_url, "--catalog", "none", "--k", "3"]) == 0
    insert_responses(engine, rows(5, start=datetime(2025, 9, 1)))
    assert cli.main(["run", "--database-url", db_url, "--incremental", "--k", "3"]) == 0
    assert "running a full analysis instead" in capsys.readouterr().err
    run = store.latest_run(db_url)
    assert run["results_run_id"] == run["id"] and run["n_responses"] == 65
    assert not run["parameters"].get("incremental")
    engine.dispose()


def _progress_env(seconds):
    return dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                SURVEY_ANALYSIS_PROGRESS_SECONDS=str(seconds))


def test_progress_off_a_terminal_is_a_line_per_chunk_and_at_the_end(db_url, tmp_path):
    engine = store.get_engine(db_url)
    insert_responses(engine, rows(50))
    engine.dispose()
    command = [sys.executable, "-m", "analysis.cli", "run", "--database-url", db_url, "--k", "3",
               "--chunk-size", "10", "--jobs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=_progress_env(0), timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    read = [line for line in lines if line.startswith("survey-analysis: read ")]
    store_lines = [line for line in lines if line.startswith("survey-analysis: store ")]
    assert [line.split()[2] for line in read] == ["10", "20", "30", "40", "50"]
    assert [line.split()[2] for line in store_lines] == ["10/50", "20/50", "30/50", "40/50", "50/50"]
    assert any(line.startswith("survey-analysis: themes ") for line in lines)
    assert "相談" not in done.stderr  # counts, never comments

    # With the default interval: the first and the last line of each stage.
    texts = tmp_path / "comments.csv"
    texts.write_text("id,comment\n" + "".join(f"{i},{TEXTS[i % len(TEXTS)]}\n" for i in range(40)),
                     encoding="utf-8")
    command = [sys.executable, "-m", "analysis.cli", "themes", "--input", str(texts), "--output",
               str(tmp_path / "out.csv"), "--k", "3", "--chunk-size", "10", "--jobs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=_progress_env(600), timeout=600)
    assert done.returncode == 0, done.stderr
    read = [line.split()[2] for line in done.stderr.splitlines() if line.startswith("survey-analysis: read ")]
    assert read == ["10/40", "40/40"]


def test_the_reports_see_an_incremental_runs_answers_at_once(app, db_url):
    import pandas as pd

    from survey_app.reports import queries

    engine = store.get_engine(db_url)
    insert_responses(engine, [{**row, "facility": FACILITIES[0]} for row in rows(6)])
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM responses ORDER BY id")).scalars().all()
        facility_id = connection.execute(sa.text("SELECT id FROM facilities WHERE code = :c"),
                                         {"c": FACILITIES[0]}).scalar_one()

    sources = {"T01": "catalog", "T02": "catalog", "D01": "discovery"}

    def frame(response_ids, codes):
        return pd.DataFrame({"response_id": response_ids, "theme_id": codes, "score": [0.9] * len(codes),
                             "source": [sources[c] for c in codes]})

    def themes(codes):  # sizes counted from the assignments
        codes = sorted(set(codes))
        return pd.DataFrame({"theme_id": codes, "label": codes, "source": [sources[c] for c in codes]})

    first = ["T01", "T01", "D01", "T02"]
    store.save_run(engine, frame(ids[:4], first), themes(first), catalog_version="v1")
    base = store.latest_run(engine)
    with app.app_context():
        before = queries.top_themes_by_facility(base["results_run_id"], 2025, [facility_id], limit=None)
    assert {t["theme_id"]: t["count"] for t in before[facility_id]} == {"T01": 2, "D01": 1, "T02": 1}

    store.extend_run(engine, base, [(frame(ids[4:], ["T01", "D01"]), None)], themes(["T01", "D01"]),
                     catalog_version="v1")
    run = store.latest_run(engine)
    assert run["results_run_id"] == base["id"] and run["n_responses"] == 6
    with app.app_context():  # within the theme cache's lifetime
        after = queries.top_themes_by_facility(run["results_run_id"], 2025, [facility_id], limit=None)
    assert {t["theme_id"]: t["count"] for t in after[facility_id]} == {"T01": 3, "D01": 2, "T02": 1}
    assert dict(zip(*store.read_themes(engine, run_id=run["id"])[["theme_id", "size"]].T.values)) == {
        "T01": 3, "D01": 2, "T02": 1}
    engine.dispose()
