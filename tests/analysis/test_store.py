"""Database access of the analysis package, on the application's own schema.

Runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set (see conftest).
"""
import random
import uuid
from datetime import datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from analysis import store
from analysis.satisfaction import count_answers
from survey_app.extensions import db
from survey_app.timeutil import fiscal_year_of_utc

FACILITIES = ("kawaguchi-employment-support-corner", "aomori-young-job-plaza", "job-station-gifu")


def insert_responses(engine, rows):
    """Insert responses given as dicts with facility, submitted_at, satisfaction, ... ."""
    with engine.begin() as connection:
        ids = dict(connection.execute(sa.text("SELECT code, id FROM facilities")).all())
        table = sa.table("responses", *[sa.column(name) for name in (
            "client_uuid", "facility_id", "form_version", "source", "submitted_at", "received_at",
            "fiscal_year", "satisfaction", "establishment", "respondent_group", "services",
            "comment", "content_hash")])
        connection.execute(table.insert(), [{
            "client_uuid": str(uuid.uuid4()),
            "facility_id": ids[row["facility"]],
            "form_version": 1,
            "source": "demo",
            "submitted_at": row["submitted_at"],
            "received_at": row["submitted_at"],
            "fiscal_year": fiscal_year_of_utc(row["submitted_at"]),
            "satisfaction": row["satisfaction"],
            "establishment": row.get("establishment", 1),
            "respondent_group": row.get("respondent_group"),
            "services": "[]",
            "comment": row.get("comment"),
            "content_hash": "0" * 64,
        } for row in rows])


def random_rows(count, seed=0):
    rng = random.Random(seed)
    start = datetime(2024, 3, 20)
    return [{
        "facility": rng.choice(FACILITIES),
        "submitted_at": start + timedelta(minutes=rng.randint(0, 60 * 24 * 400)),
        "satisfaction": rng.choice([1, 1, 2, 3, 4]),
        "establishment": rng.choice([1, 2, 2, 3, 4]),
        "respondent_group": rng.choice([None, "youth", "welfare"]),
        "comment": rng.choice([None, "待ち時間が長い", "親切でした", "特になし"]),
    } for _ in range(count)]


@pytest.fixture
def engine(app):
    with app.app_context():
        url = db.engine.url
    engine = store.get_engine(url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@h/db", "postgresql+psycopg"),
    ("postgresql://u:p@h/db", "postgresql+psycopg"),
    ("sqlite:///x.db", "sqlite"),
])
def test_get_engine_uses_psycopg3_for_postgres_urls(url, expected):
    engine = store.get_engine(url)
    assert engine.url.drivername == expected


def test_get_engine_sets_sqlite_busy_timeout_and_foreign_keys(tmp_path):
    engine = store.get_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA busy_timeout")).scalar() >= 1000
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_get_engine_rejects_a_bad_url():
    with pytest.raises(store.StoreError):
        store.get_engine("not a url")


def test_a_database_without_the_tables_gives_a_clear_error(tmp_path):
    engine = store.get_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(store.StoreError, match="no table"):
        store.read_responses(engine)
    with pytest.raises(store.StoreError, match="no table"):
        store.aggregate_counts(engine)


def test_read_responses_joins_facilities_and_filters(engine):
    insert_responses(engine, [
        {"facility": FACILITIES[0], "submitted_at": datetime(2025, 3, 31, 15, 30), "satisfaction": 1,
         "comment": "親切"},
        {"facility": FACILITIES[1], "submitted_at": datetime(2025, 3, 31, 14, 59), "satisfaction": 4},
    ])
    frame = store.read_responses(engine)
    assert list(frame.columns) == list(store.RESPONSE_COLUMNS)
    assert frame["fiscal_year"].tolist() == [2025, 2024]
    assert frame.loc[0, "facility_code"] == FACILITIES[0]
    assert frame.loc[0, "prefecture"] == "埼玉県"
    assert frame.loc[1, "comment"] is None
    assert pd.api.types.is_datetime64_dtype(frame["submitted_at"])
    assert len(store.read_responses(engine, fiscal_years=[2025])) == 1
    assert store.read_responses(engine, facility_codes=FACILITIES[1])["satisfaction"].tolist() == [4]


@pytest.mark.parametrize("by", [
    ("facility_code", "fiscal_year"),
    ("month",),
    ("facility_code", "month", "respondent_group"),
    ("fiscal_year", "respondent_group"),
    ("prefecture", "operator_kind"),
    (),
])
def test_aggregate_counts_in_the_database_equals_counting_in_pandas(engine, by):
    insert_responses(engine, random_rows(400))
    in_database = store.aggregate_counts(engine, by=by)
    in_pandas = count_answers(store.read_responses(engine), list(by))
    pd.testing.assert_frame_equal(in_database, in_pandas)


def test_aggregate_counts_filters_like_read_responses(engine):
    insert_responses(engine, random_rows(300, seed=1))
    expected = count_answers(
        store.read_responses(engine, fiscal_years=[2024], facility_codes=FACILITIES[:2]),
        ["facility_code", "fiscal_year"])
    got = store.aggregate_counts(engine, fiscal_years=[2024], facility_codes=FACILITIES[:2])
    pd.testing.assert_frame_equal(got, expected)
    aomori = store.aggregate_counts(engine, by=("facility_code",), prefecture="青森県")
    assert aomori["facility_code"].tolist() == [FACILITIES[1]]
    assert store.aggregate_counts(engine, operator_kind="nonexistent").empty


def test_aggregate_counts_month_is_the_tokyo_month(engine):
    insert_responses(engine, [
        {"facility": FACILITIES[0], "submitted_at": datetime(2025, 3, 31, 15, 30), "satisfaction": 1},
        {"facility": FACILITIES[0], "submitted_at": datetime(2025, 3, 31, 14, 59), "satisfaction": 4},
    ])
    counts = store.aggregate_counts(engine, by=("month", "fiscal_year"))
    assert counts[["month", "fiscal_year", "n", "satisfied"]].values.tolist() == [
        ["2025-03", 2024, 1, 0], ["2025-04", 2025, 1, 1]]


def test_aggregate_counts_refuses_unknown_keys(engine):
    with pytest.raises(ValueError):
        store.aggregate_counts(engine, by=("comment",))


def test_aggregate_counts_is_one_grouped_query(engine):
    insert_responses(engine, random_rows(50))
    statements = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))
    store.aggregate_counts(engine, by=("facility_code", "fiscal_year"), fiscal_years=[2024])
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert "GROUP BY" in selects[0].upper()


def run_frames(engine, theme_of):
    """Assignments and themes for every response, theme chosen by `theme_of(response)`."""
    responses = store.read_responses(engine)
    codes = [theme_of(row) for row in responses.itertuples()]
    assignments = pd.DataFrame({
        "response_id": responses["response_id"],
        "theme_id": codes,
        "theme_label": [None if c is None else f"label {c}" for c in codes],
        "score": [None if c is None else 0.8 for c in codes],
        "source": ["no_comment" if c is None else ("catalog" if c.startswith("T") else "discovery")
                   for c in codes],
    })
    used = sorted({c for c in codes if c})
    themes = pd.DataFrame({
        "theme_id": used,
        "label": [f"label {c}" for c in used],
        "size": [codes.count(c) for c in used],
        "words": [["待ち時間"] for _ in used],
        "representative_response_ids": [[int(responses["response_id"][codes.index(c)])] for c in used],
    })
    return assignments, themes


def current_rows(engine):
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT COUNT(*), COUNT(DISTINCT response_id) FROM response_themes")).one()


def test_save_run_stores_a_complete_run_and_reads_back(engine):
    insert_responses(engine, random_rows(30))
    assignments, themes = run_frames(
        engine, lambda r: None if r.comment in (None, "特になし") else ("T01" if "待ち" in r.comment else "D01"))
    run_id = store.save_run(engine, assignments, themes, {"n_themes": "auto"},
                            {"pandas": pd.__version__}, "2024.1")
    run = store.latest_run(engine)
    assert run["id"] == run_id and run["status"] == "complete"
    assert run["n_responses"] == 30
    assert run["n_comments"] == int(assignments["theme_id"].notna().sum())
    assert run["parameters"] == {"n_themes": "auto"} and run["catalog_version"] == "2024.1"
    assert run["finished_at"] >= run["started_at"]

    read = store.read_theme_assignments(engine)
    assert list(read.columns) == list(store.ASSIGNMENT_COLUMNS)
    assert len(read) == 30
    merged = read.merge(assignments, on="response_id", suffixes=("", "_given"))
    assert (merged["theme_id"].fillna("-") == merged["theme_id_given"].fillna("-")).all()
    assert set(read.loc[read["theme_id"] == "T01", "theme_label"]) == {"label T01"}
    assert read["month"].str.match(r"^\d{4}-\d{2}$").all()

    stored_themes = store.read_themes(engine)
    assert set(stored_themes["theme_id"]) == set(themes["theme_id"])
    assert stored_themes["words"].iloc[0] == ["待ち時間"]
    assert stored_themes.set_index("theme_id").loc["T01", "source"] == "catalog"


def test_rerunning_replaces_the_current_themes_and_keeps_the_history(engine):
    insert_responses(engine, random_rows(40))
    first = run_frames(engine, lambda r: "T01" if r.comment else None)
    second = run_frames(engine, lambda r: "D02" if r.comment else None)
    first_id = store.save_run(engine, *first, {}, {}, None)
    second_id = store.save_run(engine, *second, {}, {}, None)
    assert tuple(current_rows(engine)) == (40, 40)
    assert store.latest_run(engine)["id"] == second_id
    assert set(store.read_themes(engine)["theme_id"]) == {"D02"}
    assert store.read_theme_assignments(engine, run_id=first_id).empty
    history = store.read_runs(engine)
    assert history["id"].tolist() == [second_id, first_id]
    assert set(history["status"]) == {"complete"}


def test_a_failed_save_marks_the_run_failed_and_keeps_the_previous_one(engine):
    insert_responses(engine, random_rows(10))
    good = run_frames(engine, lambda r: "T01")
    good_id = store.save_run(engine, *good, {}, {}, None)
    bad_assignments = good[0].copy()
    bad_assignments.loc[0, "response_id"] = 10 ** 9  # no such response: foreign key fails
    with pytest.raises(Exception):
        store.save_run(engine, bad_assignments, good[1], {}, {}, None)
    history = store.read_runs(engine)
    assert history["status"].tolist() == ["failed", "complete"]
    assert store.latest_run(engine)["id"] == good_id
    assert tuple(current_rows(engine)) == (10, 10)


def test_save_run_refuses_two_rows_for_one_response(engine):
    insert_responses(engine, random_rows(3))
    assignments, themes = run_frames(engine, lambda r: "T01")
    with pytest.raises(ValueError):
        store.save_run(engine, pd.concat([assignments, assignments]), themes)


def test_no_run_yet_gives_none_and_empty_frames(engine):
    assert store.latest_run(engine) is None
    assert store.read_theme_assignments(engine).empty
    assert list(store.read_themes(engine).columns) == list(store.THEME_COLUMNS)


# --- theme mentions -------------------------------------------------------------------------

def test_every_mirrored_table_matches_the_models():
    """analysis.store names columns by hand: each must exist in the model with the same type,
    and the tables it writes must list every column."""
    from survey_app import models  # noqa: F401 (registers the tables on db.metadata)

    written = {"analysis_runs", "themes", "response_themes", "theme_mentions", "text_vectors"}
    mirrors = [value for value in vars(store).values() if isinstance(value, sa.TableClause)
               and not isinstance(value, sa.Table)]
    assert {mirror.name for mirror in mirrors} == {
        "facilities", "responses", *written}
    for mirror in mirrors:
        model = db.metadata.tables[mirror.name]
        assert set(mirror.c.keys()) <= set(model.c.keys()), mirror.name
        if mirror.name in written:
            assert set(mirror.c.keys()) == set(model.c.keys()), mirror.name
        for column in mirror.c:
            expected = model.c[column.name].type._type_affinity
            assert column.type._type_affinity is expected, f"{mirror.name}.{column.name}"


def mention_frame(rows):
    """A mentions frame as assign_themes returns it: (row, theme_id, polarity, start, end, rank)."""
    return pd.DataFrame(
        [{"row": row, "theme_id": theme, "polarity": polarity, "score": 0.9 - 0.1 * rank,
          "span_start": start, "span_end": end, "rank": rank}
         for row, theme, polarity, start, end, rank in rows])


def test_save_run_stores_mentions_keyed_by_the_responses_order_and_reads_them_back(engine):
    insert_responses(engine, [
        {"facility": FACILITIES[0], "submitted_at": datetime(2024, 6, 30, 15, 30), "satisfaction": 1,
         "comment": "親切だけど駐車場が狭い"},
        {"facility": FACILITIES[1], "submitted_at": datetime(2024, 7, 1, 1, 0), "satisfaction": 3,
         "comment": None},
        {"facility": FACILITIES[1], "submitted_at": datetime(2024, 7, 2, 1, 0), "satisfaction": 4,
         "comment": "待ち時間が長い"},
        {"facility": FACILITIES[0], "submitted_at": datetime(2024, 7, 3, 1, 0), "satisfaction": 2,
         "comment": "ぴよぴよ"},
    ])
    responses = store.read_responses(engine)
    ids = responses["response_id"].tolist()
    assignments = pd.DataFrame({
        "response_id": ids, "theme_id": ["T01", None, "T07", None], "score": [0.9, None, 0.8, None],
        "source": ["catalog", "no_comment", "catalog", "unclassified"]})
    themes = pd.DataFrame({"theme_id": ["T01", "T07"], "label": ["丁寧・親切な対応", "待ち時間"],
                           "source": ["catalog", "catalog"]})
    mentions = mention_frame([(0, "T01", "praise", 0, 4, 0), (0, "T09", "request", 5, 11, 1),
                              (2, "T07", "request", 0, 7, 0)])
    run_id = store.save_run(engine, assignments, themes, mentions=mentions)

    read = store.read_mentions(engine)
    assert list(read.columns) == list(store.MENTION_COLUMNS)
    assert read[["response_id", "theme_id", "polarity", "span_start", "span_end", "rank"]].values.tolist() == [
        [ids[0], "T01", "praise", 0, 4, 0], [ids[0], "T09", "request", 5, 11, 1],
        [ids[2], "T07", "request", 0, 7, 0]]
    assert read["facility_code"].tolist() == [FACILITIES[0], FACILITIES[0], FACILITIES[1]]
    # 2024-06-30 15:30 UTC is July 1st in Tokyo.
    assert read["month"].tolist() == ["2024-07", "2024-07", "2024-07"]
    assert read["satisfaction"].tolist() == [1, 1, 4]
    assert read["theme_label"].tolist() == ["丁寧・親切な対応", "T09", "待ち時間"]
    assert read["score"].round(2).tolist() == [0.9, 0.8, 0.9]
    assert read["fiscal_year"].tolist() == [2024] * 3
    assert store.read_mentions(engine, run_id=run_id, facility_codes=FACILITIES[1])["theme_id"].tolist() == ["T07"]
    assert store.read_mentions(engine, fiscal_years=[2023]).empty
    # A theme met only as a second point still gets its theme row (its label is the code).
    assert "T09" in set(store.read_themes(engine)["theme_id"])

    counts = store.mention_counts(engine, by=("facility_code", "theme_id", "polarity"))
    assert counts[["facility_code", "theme_id", "polarity", "respondents", "n", "satisfied"]].values.tolist() == [
        [FACILITIES[1], "T07", "request", 1, 1, 0],  # aomori sorts before kawaguchi
        [FACILITIES[0], "T01", "praise", 1, 1, 1], [FACILITIES[0], "T09", "request", 1, 1, 1]]
    monthly = store.mention_counts(engine, by=("month", "theme_id"))
    assert monthly[["month", "theme_id", "respondents"]].values.tolist() == [
        ["2024-07", "T01", 1], ["2024-07", "T07", 1], ["2024-07", "T09", 1]]
    unclassified = store.unclassified_counts(engine)
    assert unclassified.values.tolist() == [[FACILITIES[0], 1]]


def test_a_rerun_replaces_the_mentions_and_an_old_style_call_stores_none(engine):
    insert_responses(engine, random_rows(20, seed=3))
    assignments, themes = run_frames(engine, lambda r: "T01" if r.comment else None)
    rows = [(i, "T01", "praise", 0, 2, 0) for i, code in enumerate(assignments["theme_id"]) if code]
    first = store.save_run(engine, assignments, themes, mentions=mention_frame(rows))
    assert len(store.read_mentions(engine, run_id=first)) == len(rows)
    store.save_run(engine, assignments, themes)  # today's callers: positional, no mentions
    assert store.read_mentions(engine).empty
    assert store.read_mentions(engine, run_id=first).empty
    assert list(store.mention_counts(engine).columns) == ["theme_id", "polarity", "respondents",
                                                          "n", "satisfied", "n_establishment",
                                                          "establishment_approved"]


@pytest.mark.parametrize("change, message", [
    ({"row": 99}, "outside"),
    ({"polarity": "neutral"}, "polarity"),
    ({"theme_id": None}, "theme_id"),
    ({"span_start": 5, "span_end": 2}, "span"),
])
def test_bad_mentions_store_nothing(engine, change, message):
    insert_responses(engine, random_rows(5, seed=4))
    assignments, themes = run_frames(engine, lambda r: "T01")
    good = store.save_run(engine, assignments, themes,
                          mentions=mention_frame([(0, "T01", "praise", 0, 2, 0)]))
    bad = mention_frame([(0, "T01", "praise", 0, 2, 0)])
    for column, value in change.items():
        bad[column] = bad[column].astype(object)
        bad.loc[0, column] = value
    with pytest.raises(ValueError, match=message):
        store.save_run(engine, assignments, themes, mentions=bad)
    assert store.latest_run(engine)["id"] == good
    assert len(store.read_mentions(engine)) == 1


def test_one_mention_per_comment_and_theme(engine):
    insert_responses(engine, random_rows(2, seed=5))
    assignments, themes = run_frames(engine, lambda r: "T01")
    twice = mention_frame([(0, "T01", "praise", 0, 2, 0), (0, "T01", "request", 3, 5, 1)])
    with pytest.raises(ValueError, match="twice"):
        store.save_run(engine, assignments, themes, mentions=twice)
