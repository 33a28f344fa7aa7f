"""Year on year, facility against the rest, and group summaries, against hand-computed figures."""
import math

import pandas as pd
import pytest

from analysis.comparison import group_summary, rate_change, versus_rest
from analysis.satisfaction import (count_answers, difference_interval, national_report_sentences,
                                   national_summary, rates_from_counts, satisfaction_by_theme)


def wilson(successes, n, z=1.959963984540054):
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_by_hand(s1, n1, s2, n2):
    """Newcombe's method 10, written out from the paper's formula."""
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson(s1, n1)
    l2, u2 = wilson(s2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@pytest.mark.parametrize("s1, n1, s2, n2, low, high", [
    # Newcombe (1998), Table II, method 10: the published bounds.
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
])
def test_difference_interval_matches_newcombe_and_the_hand_computation(s1, n1, s2, n2, low, high):
    got = difference_interval(s1, n1, s2, n2)
    assert got == pytest.approx(newcombe_by_hand(s1, n1, s2, n2), abs=1e-12)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_difference_interval_stays_in_range_where_wald_collapses():
    # 10/10 against 9/10: the Wald interval's standard error uses only 9/10's variance and
    # the hybrid one is wider and still inside [-1, 1].
    low, high = difference_interval(10, 10, 9, 10)
    wald_half = 1.96 * math.sqrt(0.9 * 0.1 / 10)
    assert -1 <= low < 0.1 - wald_half and high <= 1
    assert math.isnan(difference_interval(1, 0, 1, 5)[0])


def test_satisfaction_by_theme_uses_the_same_interval():
    responses = pd.DataFrame({"response_id": range(30), "satisfaction": [1] * 25 + [4] * 5})
    assignments = pd.DataFrame({"response_id": range(30), "theme_id": ["T1"] * 12 + ["T2"] * 18,
                                "theme_label": ["a"] * 12 + ["b"] * 18})
    row = satisfaction_by_theme(responses, assignments).iloc[0]
    expected = difference_interval(row["satisfied"], row["n"], row["satisfied_other"], row["n_other"])
    assert (row["difference_low"], row["difference_high"]) == pytest.approx(expected)


def counts(rows):
    return pd.DataFrame([dict(zip(("facility_code", "fiscal_year", "n", "satisfied"), row),
                              n_establishment=row[2], establishment_approved=row[3]) for row in rows])


def test_rate_change_year_on_year_against_a_hand_computed_case():
    table = counts([("a", 2024, 70, 56), ("a", 2023, 80, 48), ("a", 2022, 10, 0),
                    ("b", 2024, 9, 9), ("b", 2023, 30, 27), ("c", 2023, 12, 12)])
    result = rate_change(table, 2024).set_index("facility_code")
    a = result.loc["a"]
    assert (a["n"], a["successes"], a["previous_n"], a["previous_successes"]) == (70, 56, 80, 48)
    assert a["rate"] == pytest.approx(0.8) and a["previous_rate"] == pytest.approx(0.6)
    assert a["change"] == pytest.approx(0.2)
    assert (a["change_low"], a["change_high"]) == pytest.approx(newcombe_by_hand(56, 70, 48, 80))
    assert bool(a["significant"]) and not a["suppressed"]
    # 9 answers this year: 回答数不足, so no rate and no verdict (not 100%, not "no change").
    b = result.loc["b"]
    assert math.isnan(b["rate"]) and math.isnan(b["change"]) and pd.isna(b["significant"])
    assert b["suppressed"] and b["previous_rate"] == pytest.approx(0.9)
    c = result.loc["c"]  # answered only the year before
    assert c["n"] == 0 and c["suppressed"]


def test_a_small_change_is_noise():
    result = rate_change(counts([("a", 2024, 40, 36), ("a", 2023, 40, 34)]), 2024).iloc[0]
    assert result["change"] == pytest.approx(0.05)
    assert result["change_low"] < 0 < result["change_high"] and not result["significant"]


def test_rate_change_of_everything_pools_the_groups():
    table = counts([("a", 2024, 70, 56), ("a", 2023, 80, 48), ("b", 2024, 30, 30), ("b", 2023, 20, 18)])
    national = rate_change(table, 2024, by=()).iloc[0]
    assert (national["n"], national["successes"], national["previous_n"]) == (100, 86, 100)
    assert (national["change_low"], national["change_high"]) == pytest.approx(newcombe_by_hand(86, 100, 66, 100))


def test_versus_rest_compares_each_facility_with_all_the_others():
    table = counts([("a", 2024, 70, 56), ("b", 2024, 80, 48), ("c", 2024, 5, 5)])
    result = versus_rest(table).set_index("facility_code")
    a = result.loc["a"]
    assert (a["rest_n"], a["rest_successes"]) == (85, 53)
    assert (a["difference_low"], a["difference_high"]) == pytest.approx(newcombe_by_hand(56, 70, 53, 85))
    assert result.loc["c", "suppressed"] and math.isnan(result.loc["c", "difference"])


def test_group_summary_counts_facilities_per_group_like_national_summary():
    responses = pd.DataFrame({
        "facility_code": ["a"] * 10 + ["b"] * 10 + ["c"] * 10 + ["d"] * 3,
        "satisfaction": [1] * 10 + [1] * 8 + [4] * 2 + [2] * 9 + [3] + [1] * 3,
        "establishment": [1] * 33,
    })
    rates = rates_from_counts(count_answers(responses))
    rates["operator_kind"] = rates["facility_code"].map({"a": "prefecture", "b": "prefecture",
                                                         "c": "municipal", "d": "municipal"})
    table = group_summary(rates, "operator_kind").set_index("operator_kind")
    prefecture = table.loc["prefecture"]
    expected = national_summary(rates[rates["operator_kind"] == "prefecture"])
    assert (prefecture["satisfaction_eligible"], prefecture["satisfaction_meeting"]) == (
        expected["eligible"], expected["meeting"]) == (2, 1)
    assert prefecture["n"] == 20 and prefecture["satisfaction_rate"] == pytest.approx(0.9)
    municipal = table.loc["municipal"]
    assert municipal["satisfaction_suppressed"] == 1 and municipal["facilities"] == 2
    assert municipal["satisfaction_meeting"] == 1 and municipal["establishment_meeting"] == 1


@pytest.mark.parametrize("measure, eligible, meeting, lead", [
    ("satisfaction", 82, 68, "8割以上の施設で90%以上の利用者満足度"),
    ("establishment", 78, 75, "ほぼ全ての施設で90%以上の利用者が設置を評価"),
    ("satisfaction", 3, 3, "全ての施設で90%以上の利用者満足度"),
    ("satisfaction", 20, 1, "1割未満の施設で90%以上の利用者満足度"),
])
def test_national_report_sentences_read_like_the_ministry_report(measure, eligible, meeting, lead):
    sentences = national_report_sentences({"eligible": eligible, "meeting": meeting}, measure)
    assert sentences["lead"] == lead
    assert sentences["detail"].startswith(f"アンケート調査を実施した{eligible}施設のうち、{meeting}施設で90%以上の利用者")


def test_national_report_sentences_reproduce_the_seed():
    assert national_report_sentences({"eligible": 78, "meeting": 75}, "establishment")["detail"] == (
        "アンケート調査を実施した78施設のうち、75施設で90%以上の利用者が「施設ができてよかったか」との質問に"
        "対して「そう思う」又は「まあそう思う」との評価")
    assert national_report_sentences({"eligible": 0, "meeting": 0}) == {"lead": None, "detail": None}
