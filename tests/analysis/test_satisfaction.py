"""Satisfaction rates, Wilson intervals, suppression, periods and theme shares."""
import math

import numpy as np
import pandas as pd
import pytest

from analysis.satisfaction import (
    MIN_N,
    TARGET_RATE,
    TOP2,
    add_period_columns,
    count_answers,
    national_summary,
    national_summary_table,
    rates_from_counts,
    satisfaction_by,
    satisfaction_by_theme,
    theme_shares,
    wilson_interval,
)


def make_responses(rows):
    """Build a responses frame from (facility_code, submitted_at, satisfaction, establishment)."""
    frame = pd.DataFrame(rows, columns=["facility_code", "submitted_at", "satisfaction", "establishment"])
    frame.insert(0, "response_id", range(1, len(frame) + 1))
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"])
    frame["respondent_group"] = None
    frame["services"] = [[] for _ in range(len(frame))]
    frame["comment"] = None
    return frame


def facility(code, satisfied, unsatisfied, when="2025-06-01 01:00"):
    return ([(code, when, 1, 1)] * satisfied) + ([(code, when, 3, 4)] * unsatisfied)


def test_constants_match_the_ministry_yardstick():
    assert (MIN_N, TARGET_RATE, TOP2) == (10, 0.9, (1, 2))


@pytest.mark.parametrize("successes, n, low, high", [
    # z = 1.959964; hand-computed with the Wilson score formula.
    (9, 10, 0.595850, 0.982124),
    (0, 10, 0.0, 0.277533),
    (10, 10, 0.722467, 1.0),
    (5, 10, 0.236593, 0.763407),
])
def test_wilson_interval_matches_hand_computed_bounds(successes, n, low, high):
    got_low, got_high = wilson_interval(successes, n)
    assert got_low == pytest.approx(low, abs=1e-6)
    assert got_high == pytest.approx(high, abs=1e-6)


def test_wilson_interval_is_nan_without_answers():
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)


def test_wilson_interval_is_vectorised_and_keeps_a_series_index():
    low, high = wilson_interval(np.array([9, 0, 0]), np.array([10, 10, 0]))
    assert low[:2] == pytest.approx([0.595850, 0.0], abs=1e-6)
    assert np.isnan(low[2]) and np.isnan(high[2])
    s_low, s_high = wilson_interval(pd.Series([9, 10], index=["a", "b"]), pd.Series([10, 10], index=["a", "b"]))
    assert list(s_low.index) == ["a", "b"]
    assert s_high["b"] == 1.0


def test_wilson_interval_narrows_with_a_lower_confidence():
    wide = wilson_interval(9, 10, confidence=0.95)
    narrow = wilson_interval(9, 10, confidence=0.80)
    assert narrow[0] > wide[0] and narrow[1] < wide[1]


def test_count_answers_counts_top_two_boxes_and_missing_answers():
    frame = make_responses([("a", "2025-06-01", s, e) for s, e in
                            [(1, 1), (2, 2), (3, 3), (4, 4), (None, 2), (1, None)]])
    counts = count_answers(frame, by="facility_code")
    assert counts.to_dict("records") == [{
        "facility_code": "a", "n": 5, "satisfied": 3, "n_establishment": 5,
        "establishment_approved": 3}]


def test_suppression_happens_at_nine_answers_not_at_ten():
    frame = make_responses(facility("nine", 9, 0) + facility("ten", 9, 1))
    rates = satisfaction_by(frame).set_index("facility_code")
    nine, ten = rates.loc["nine"], rates.loc["ten"]
    assert nine["suppressed"] and not ten["suppressed"]
    # Never 100% for a facility with too few answers: NaN and NA instead.
    assert math.isnan(nine["satisfaction_rate"]) and math.isnan(nine["satisfaction_low"])
    assert nine["meets_target"] is pd.NA
    assert ten["satisfaction_rate"] == pytest.approx(0.9)
    assert ten["satisfaction_low"] == pytest.approx(0.595850, abs=1e-6)
    assert bool(ten["meets_target"]) is True
    assert str(rates["meets_target"].dtype) == "boolean"


def test_exactly_ninety_percent_meets_the_target():
    frame = make_responses(facility("a", 27, 3) + facility("b", 26, 4))
    rates = satisfaction_by(frame).set_index("facility_code")
    assert bool(rates.loc["a", "meets_target"]) is True
    assert bool(rates.loc["b", "meets_target"]) is False


def test_establishment_rate_uses_its_own_answers():
    rows = [("a", "2025-06-01", 1, 1)] * 10 + [("a", "2025-06-01", 1, 3)] * 2
    rates = satisfaction_by(make_responses(rows))
    assert rates.loc[0, "satisfaction_rate"] == 1.0
    assert rates.loc[0, "establishment_rate"] == pytest.approx(10 / 12)
    assert bool(rates.loc[0, "establishment_meets_target"]) is False


def test_rates_from_counts_honours_min_n():
    counts = pd.DataFrame({"facility_code": ["a"], "n": [5], "satisfied": [5],
                           "n_establishment": [5], "establishment_approved": [5]})
    assert rates_from_counts(counts, min_n=5).loc[0, "satisfaction_rate"] == 1.0
    assert rates_from_counts(counts).loc[0, "suppressed"]


def test_month_and_fiscal_year_follow_the_tokyo_calendar():
    frame = pd.DataFrame({"submitted_at": pd.to_datetime([
        "2025-03-31 15:30",  # 2025-04-01 00:30 in Tokyo
        "2025-03-31 14:59",  # 2025-03-31 23:59 in Tokyo
        "2024-12-31 15:00",  # 2025-01-01 00:00 in Tokyo
    ])})
    out = add_period_columns(frame)
    assert out["month"].tolist() == ["2025-04", "2025-03", "2025-01"]
    assert out["fiscal_year"].tolist() == [2025, 2024, 2024]


def test_add_period_columns_converts_aware_times_and_keeps_an_existing_fiscal_year():
    frame = pd.DataFrame({"submitted_at": pd.to_datetime(["2025-04-01T00:30:00+09:00"]),
                          "fiscal_year": [2025]})
    out = add_period_columns(frame)
    assert out.loc[0, "month"] == "2025-04"
    assert "month" not in frame.columns  # the input is not modified


def test_satisfaction_by_month_splits_at_tokyo_midnight():
    rows = ([("a", "2025-03-31 15:30", 1, 1)] * 10) + ([("a", "2025-03-31 14:59", 4, 4)] * 10)
    rates = satisfaction_by(make_responses(rows), period="month")
    assert rates[["month", "satisfaction_rate"]].values.tolist() == [["2025-03", 0.0], ["2025-04", 1.0]]


def test_national_summary_counts_facilities_like_the_ministry_report():
    rows = (facility("a", 10, 0) + facility("b", 9, 1) + facility("c", 8, 2)
            + facility("d", 5, 0) + facility("e", 19, 1))
    rates = satisfaction_by(make_responses(rows))
    summary = national_summary(rates)
    assert summary == {"eligible": 4, "meeting": 3, "suppressed": 1,
                       "text": "4施設中3施設で90%以上の利用者満足度"}
    establishment = national_summary(rates, measure="establishment")
    assert establishment["text"] == "4施設中3施設で90%以上の利用者が設置を評価"


def test_national_summary_refuses_several_rows_per_facility():
    rows = facility("a", 10, 0, "2024-06-01") + facility("a", 10, 0, "2025-06-01")
    rates = satisfaction_by(make_responses(rows), period="fiscal_year")
    with pytest.raises(ValueError):
        national_summary(rates)
    table = national_summary_table(rates)
    satisfaction = table[table["measure"] == "satisfaction"]
    assert satisfaction[["fiscal_year", "eligible", "meeting"]].values.tolist() == [[2024, 1, 1], [2025, 1, 1]]
    assert satisfaction["text"].iloc[0] == "1施設中1施設で90%以上の利用者満足度"


def assignments_frame(rows):
    return pd.DataFrame(rows, columns=["response_id", "facility_code", "theme_id", "theme_label", "source"])


def test_theme_shares_exclude_no_comment_answers_from_the_denominator():
    assignments = assignments_frame([
        (1, "a", "T01", "待ち時間", "catalog"),
        (2, "a", "T01", "待ち時間", "catalog"),
        (3, "a", "D01", "駐車場", "discovery"),
        (4, "a", None, None, "no_comment"),
        (5, "a", None, None, "no_comment"),
        (6, "b", "D01", "駐車場", "discovery"),
    ])
    shares = theme_shares(assignments)
    a = shares[shares["facility_code"] == "a"].set_index("theme_id")
    assert a.loc["T01", "count"] == 2 and a.loc["T01", "share"] == pytest.approx(2 / 3)
    assert a.loc["D01", "share"] == pytest.approx(1 / 3)
    assert set(a["n_comments"]) == {3} and set(a["n_no_comment"]) == {2}
    b = shares[shares["facility_code"] == "b"]
    assert b["share"].tolist() == [1.0]
    national = theme_shares(assignments, by=())
    assert national.set_index("theme_id")["share"].to_dict() == pytest.approx({"T01": 0.5, "D01": 0.5})
    assert national["n_no_comment"].iloc[0] == 2


def test_satisfaction_by_theme_compares_with_other_commenters():
    # 20 mention waiting (T01): 10 satisfied; 20 other commenters (D01): 19 satisfied;
    # 30 gave no comment and must be in neither group.
    rows, assignments, next_id = [], [], 1
    for theme, satisfied, total in (("T01", 10, 20), ("D01", 19, 20), (None, 30, 30)):
        for i in range(total):
            rows.append({"response_id": next_id, "satisfaction": 1 if i < satisfied else 4})
            assignments.append((next_id, "a", theme, theme and f"label {theme}",
                                "no_comment" if theme is None else "catalog"))
            next_id += 1
    result = satisfaction_by_theme(pd.DataFrame(rows), assignments_frame(assignments)).set_index("theme_id")
    waiting = result.loc["T01"]
    assert (waiting["n"], waiting["satisfied"], waiting["n_other"], waiting["satisfied_other"]) == (20, 10, 20, 19)
    assert waiting["difference"] == pytest.approx(0.5 - 0.95)
    # pooled p = 29/40 = 0.725; se = sqrt(0.725 * 0.275 * (1/20 + 1/20)) = 0.141200;
    # z = -0.45 / 0.141200 = -3.1870 -> two-sided p = erfc(3.1870 / sqrt(2)) = 0.001438
    assert waiting["p_value"] == pytest.approx(0.001438, abs=2e-6)
    assert waiting["difference_low"] < waiting["difference"] < waiting["difference_high"] < 0
    assert result.loc["D01", "difference"] == pytest.approx(0.45)


def test_satisfaction_by_theme_suppresses_small_themes():
    responses = pd.DataFrame({"response_id": range(1, 16), "satisfaction": [1] * 15})
    assignments = assignments_frame([(i, "a", "T01" if i <= 3 else "T02", "x", "catalog") for i in range(1, 16)])
    result = satisfaction_by_theme(responses, assignments).set_index("theme_id")
    assert result.loc["T01", "suppressed"] and math.isnan(result.loc["T01", "satisfaction_rate"])
    assert result.loc["T02", "suppressed"]  # only 3 others to compare with


def test_satisfaction_by_mention_compares_with_everyone_else():
    from analysis.satisfaction import satisfaction_by_mention

    mentions = pd.DataFrame({"theme_id": ["T07", "T01"], "n": [20, 5], "satisfied": [12, 5],
                             "n_establishment": [20, 5], "establishment_approved": [10, 5]})
    totals = pd.DataFrame({"n": [60, 40], "satisfied": [50, 38], "n_establishment": [60, 40],
                           "establishment_approved": [50, 30]})
    table = satisfaction_by_mention(mentions, totals).set_index("theme_id")
    waiting = table.loc["T07"]
    assert (waiting["n"], waiting["satisfied"], waiting["n_other"], waiting["satisfied_other"]) == (20, 12, 80, 76)
    assert waiting["satisfaction_rate"] == pytest.approx(0.6)
    assert waiting["other_rate"] == pytest.approx(0.95)
    low, high = wilson_interval(76, 80)
    assert (waiting["other_low"], waiting["other_high"]) == pytest.approx((low, high))
    assert math.isnan(table.loc["T01", "satisfaction_rate"])  # 5 answers: under MIN_N


def test_voice_counts_counts_praise_and_requests_per_theme():
    from analysis.satisfaction import voice_counts

    mentions = pd.DataFrame({
        "response_id": [1, 1, 2, 3, 4],
        "theme_id": ["T01", "T07", "T07", "T07", "T01"],
        "theme_label": ["親切", "待ち時間", "待ち時間", "待ち時間", "親切"],
        "polarity": ["praise", "request", "request", "praise", "praise"],
    })
    table = voice_counts(mentions)
    assert table.values.tolist() == [["T07", "待ち時間", 1, 2, 3], ["T01", "親切", 2, 0, 2]]
    assert list(voice_counts(mentions.iloc[0:0]).columns) == list(table.columns)
