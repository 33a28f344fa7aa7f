"""A stored run's 「利用者の声」 figures (analysis.voices), on the application's schema."""
from datetime import datetime, timedelta

import pandas as pd
import pytest

from analysis import store, voices
from analysis.satisfaction import wilson_interval
from survey_app.extensions import db
from tests.analysis.test_store import FACILITIES, insert_responses

PHONE_COMMENT = "ぴよぴよ 090-1234-5678"


@pytest.fixture
def engine(app):
    with app.app_context():
        url = db.engine.url
    engine = store.get_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def stored_run(engine):
    """30 answers: 10 mention waiting (T07, request) and rate 3, 16 praise the staff (T01) and
    rate 1, 2 say nothing, 2 are 未分類 (one with a phone number), in two facilities."""
    start = datetime(2024, 6, 1, 1, 0)
    plan = ([("T07", "待ち時間が長い", 3)] * 10 + [("T01", "親切でした", 1)] * 16
            + [(None, "特になし", 2)] * 2 + [(None, "もにゃもにゃ", 2), (None, PHONE_COMMENT, 4)])
    insert_responses(engine, [
        {"facility": FACILITIES[i % 2], "submitted_at": start + timedelta(hours=i),
         "satisfaction": satisfaction, "comment": comment}
        for i, (_theme, comment, satisfaction) in enumerate(plan)])
    ids = store.read_responses(engine)["response_id"].tolist()
    codes = [theme for theme, _comment, _s in plan]
    sources = ["catalog" if code else "no_comment" if comment == "特になし" else "unclassified"
               for code, comment, _s in plan]
    assignments = pd.DataFrame({"response_id": ids, "theme_id": codes, "score": 0.9, "source": sources})
    themes = pd.DataFrame({"theme_id": ["T01", "T07", None], "label": ["丁寧・親切な対応", "待ち時間", "未分類"],
                           "source": ["catalog", "catalog", "unclassified"]})
    mentions = pd.DataFrame([{"row": row, "theme_id": code, "polarity": "request" if code == "T07" else "praise",
                              "span_start": 0, "span_end": 3, "rank": 0}
                             for row, code in enumerate(codes) if code])
    return store.save_run(engine, assignments, themes, mentions=mentions), ids


def test_people_who_mention_waiting_rate_lower_with_wilson_intervals(engine, stored_run):
    table = voices.mention_satisfaction(engine, min_n=5)
    assert table[["theme_id", "theme_label", "n", "satisfied", "n_other", "satisfied_other"]].values.tolist() == [
        ["T01", "丁寧・親切な対応", 16, 16, 14, 3], ["T07", "待ち時間", 10, 0, 20, 19]]
    waiting = table.set_index("theme_id").loc["T07"]
    low, high = wilson_interval(0, 10)
    assert (waiting["satisfaction_low"], waiting["satisfaction_high"]) == pytest.approx((low, high))
    low, high = wilson_interval(19, 20)
    assert (waiting["other_low"], waiting["other_high"]) == pytest.approx((low, high))
    assert waiting["satisfaction_high"] < waiting["other_low"]
    # One facility: its own people on both sides.
    one = voices.mention_satisfaction(engine, facility_codes=[FACILITIES[0]], min_n=1)
    assert one.set_index("theme_id")[["n", "n_other"]].sum(axis=1).tolist() == [15, 15]


def test_every_unclassified_comment_is_there_masked_and_newest_first(engine, stored_run):
    _run_id, ids = stored_run
    found = voices.unclassified_comments(engine)
    assert list(found.columns) == list(voices.UNCLASSIFIED_COLUMNS)
    assert found["response_id"].tolist() == [ids[29], ids[28]]
    assert found["comment"].tolist() == ["ぴよぴよ ［電話番号］", "もにゃもにゃ"]
    assert len(found) == int(store.unclassified_counts(engine, by=())["unclassified"].iloc[0])
    assert voices.unclassified_comments(engine, mask=False)["comment"].iloc[0] == PHONE_COMMENT
    assert voices.unclassified_comments(engine, facility_codes=[FACILITIES[0]])["response_id"].tolist() == [ids[28]]
    assert voices.unclassified_comments(engine, fiscal_years=[2023]).empty
