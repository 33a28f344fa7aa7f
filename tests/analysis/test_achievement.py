"""Targets against results: met indicators, 達成/一部達成/未達成, and the seed's summary."""
import subprocess
import sys

import pandas as pd
import pytest

from analysis.achievement import (SEED_FY2012, STATUS_LABELS, achievement_summary,
                                  classify_facilities, employments_by_facility, indicator_met)

COLUMNS = ["facility_code", "fiscal_year", "indicator_key", "kind", "direction", "target", "result"]

# The seed's 平成24年度 examples (facility, indicator, kind, target, result).
SEED_ROWS = [
    ("kawaguchi", "employments", "count", 80, 317),
    ("kawaguchi", "referral_employments", "count", 55, 277),
    ("kawaguchi", "seminars", "count", 2, 2),
    ("soja", "support_targets", "count", 150, 144),
    ("soja", "employment_rate", "rate", 40, 74.3),
    ("workport-niigata", "users", "count", 2300, 1910),
    ("workport-niigata", "employments", "count", 40, 16),
    ("job-station-gifu", "consultations", "count", 11100, 10941),
    ("job-station-gifu", "employments", "count", 675, 1102),
]


def frame(rows, fiscal_year=2012):
    return pd.DataFrame([(code, fiscal_year, key, kind, "higher", target, result)
                         for code, key, kind, target, result in rows], columns=COLUMNS)


def status_of(classified, code):
    return classified.set_index("facility_code").loc[code, "status"]


def test_kawaguchi_317_employments_against_80_is_met():
    met = indicator_met(frame([("kawaguchi", "employments", "count", 80, 317)]))
    assert met.tolist() == [True]


def test_seed_examples_are_classified_as_the_seed_says():
    classified = classify_facilities(frame(SEED_ROWS))
    assert status_of(classified, "kawaguchi") == "achieved"        # 達成 (例: 川口市)
    assert status_of(classified, "soja") == "partly"               # 144 < 150, 74.3% ≥ 40%
    assert status_of(classified, "workport-niigata") == "not_achieved"  # 1,910 < 2,300; 16 < 40
    assert status_of(classified, "job-station-gifu") == "partly"   # 10,941 < 11,100; 1,102 ≥ 675
    row = classified.set_index("facility_code").loc["kawaguchi"]
    assert (row.n_indicators, row.n_met, row.n_pending) == (3, 3, 0)
    assert row.status_label == "達成"
    assert STATUS_LABELS == {"achieved": "達成", "partly": "一部達成", "not_achieved": "未達成"}


def test_a_result_equal_to_the_target_is_met():
    assert indicator_met(frame([("k", "seminars", "count", 2, 2)])).tolist() == [True]


@pytest.mark.parametrize("target, result, met", [
    (40, 74.3, True),    # 総社: 就職率 74.3% against 40%
    (50, 66.7, True),    # 青森: 66.7% against 50%
    (50, 49.9, False),
    (66.7, 66.7, True),  # equal rates, despite float arithmetic
])
def test_a_rate_indicator_compares_rates(target, result, met):
    assert indicator_met(frame([("x", "employment_rate", "rate", target, result)])).tolist() == [met]


def test_lower_is_better_indicators_are_met_at_or_below_target():
    df = pd.DataFrame({"target": [10, 10, 10], "result": [8, 10, 12],
                       "direction": ["lower", "lower", "lower"]})
    assert indicator_met(df).tolist() == [True, True, False]


def test_direction_defaults_to_higher_when_missing_or_empty():
    df = pd.DataFrame({"target": [10, 10], "result": [12, 8], "direction": [None, ""]})
    assert indicator_met(df).tolist() == [True, False]
    assert indicator_met(df.drop(columns="direction")).tolist() == [True, False]


def test_unknown_direction_is_rejected():
    with pytest.raises(ValueError, match="direction"):
        indicator_met(pd.DataFrame({"target": [1], "result": [1], "direction": ["sideways"]}))


def test_unknown_results_are_pending_not_failed():
    df = frame([("a", "employments", "count", 10, None), ("a", "users", "count", 10, 20),
                ("b", "employments", "count", 10, None)])
    assert indicator_met(df).isna().tolist() == [True, False, True]
    classified = classify_facilities(df)
    assert classified["facility_code"].tolist() == ["a"]  # b has nothing to judge yet
    row = classified.iloc[0]
    assert (row.status, row.n_indicators, row.n_met, row.n_pending) == ("achieved", 1, 1, 1)


def test_each_fiscal_year_is_classified_on_its_own():
    df = pd.concat([frame([("a", "employments", "count", 10, 20)], 2012),
                    frame([("a", "employments", "count", 10, 5)], 2013)])
    classified = classify_facilities(df)
    assert classified[["fiscal_year", "status"]].values.tolist() == [[2012, "achieved"],
                                                                     [2013, "not_achieved"]]


def test_municipalities_pool_their_facilities_targets():
    df = frame([("gifu-a", "employments", "count", 10, 20), ("gifu-b", "employments", "count", 10, 5)])
    df["municipality"] = "岐阜県"
    classified = classify_facilities(df, by=("municipality", "fiscal_year"))
    assert classified["status"].tolist() == ["partly"]  # 「一部の拠点を除いて目標達成」


def test_no_targets_classify_nothing():
    classified = classify_facilities(pd.DataFrame(columns=COLUMNS))
    assert classified.empty and "status" in classified.columns
    summary = achievement_summary(classified, employments_by_facility(pd.DataFrame(columns=COLUMNS)))
    assert summary.empty and "employments" in summary.columns


def test_summary_counts_statuses_and_totals_employments():
    df = frame(SEED_ROWS)
    summary = achievement_summary(classify_facilities(df), employments_by_facility(df))
    assert summary.to_dict("records") == [{
        "fiscal_year": 2012, "n_classified": 4, "achieved": 1, "partly": 2, "not_achieved": 1,
        "employments": 317 + 16 + 1102,  # うち紹介就職 and rates are not added
    }]


def test_summary_groups_by_extra_columns():
    df = frame(SEED_ROWS)
    kinds = {"kawaguchi": "municipal", "soja": "municipal", "workport-niigata": "municipal",
             "job-station-gifu": "prefecture"}
    df["operator_kind"] = df["facility_code"].map(kinds)
    by = ("fiscal_year", "operator_kind")
    classified = classify_facilities(df, by=("facility_code",) + by)
    summary = achievement_summary(classified, employments_by_facility(df, by=("facility_code",) + by), by=by)
    rows = summary.set_index("operator_kind")
    assert rows.loc["municipal", ["achieved", "partly", "not_achieved"]].tolist() == [1, 1, 1]
    assert rows.loc["prefecture", "partly"] == 1 and rows.loc["prefecture", "employments"] == 1102


def test_employments_without_classification_still_count():
    employments = pd.DataFrame({"fiscal_year": [2012], "facility_code": ["x"], "employments": [5.0]})
    summary = achievement_summary(classify_facilities(pd.DataFrame(columns=COLUMNS)), employments)
    assert summary.to_dict("records") == [{"fiscal_year": 2012, "n_classified": 0, "achieved": 0,
                                           "partly": 0, "not_achieved": 0, "employments": 5.0}]


def test_seed_national_figures_add_up():
    assert SEED_FY2012["achieved"] + SEED_FY2012["partly"] + SEED_FY2012["not_achieved"] == 80
    assert SEED_FY2012["employments"] == 44128


def test_achievement_never_imports_the_web_application():
    code = "import sys, analysis.achievement; print('survey_app' in sys.modules, 'flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
