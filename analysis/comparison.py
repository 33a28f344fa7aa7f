"""Comparisons of top-2 rates: year on year, each facility against the rest, facility groups.

Pure functions on count tables (:func:`analysis.satisfaction.count_answers` or
:func:`analysis.store.aggregate_counts`); no I/O. A difference of two rates comes with
Newcombe's hybrid score interval (:func:`analysis.satisfaction.difference_interval`) and is
called *significant* when that 95 % interval leaves out 0, i.e. the change is more than the
noise of the answers' number. Every side with fewer than ``MIN_N`` answers is suppressed: no
rate, no difference, no verdict (NaN / NA), never 0.
"""
from __future__ import annotations

import pandas as pd

from .satisfaction import (COUNT_COLUMNS, MEASURES, MIN_N, TARGET_RATE, _as_list, _check_measure,
                           difference_interval, national_summary, rates_from_counts)

__all__ = ["group_summary", "rate_change", "versus_rest"]

# The count columns of each measure: (successes, trials).
_MEASURE_COLUMNS = {"satisfaction": ("satisfied", "n"),
                    "establishment": ("establishment_approved", "n_establishment")}


def _difference(s1, n1, s2, n2, min_n, confidence) -> pd.DataFrame:
    """Rates of two sides, their difference, its interval and verdict (suppressed below min_n)."""
    s1, n1, s2, n2 = (pd.Series(v, dtype=float).reset_index(drop=True) for v in (s1, n1, s2, n2))
    suppressed = (n1 < min_n) | (n2 < min_n)
    low, high = difference_interval(s1, n1, s2, n2, confidence)
    difference = (s1 / n1 - s2 / n2).mask(suppressed)
    low, high = low.mask(suppressed), high.mask(suppressed)
    significant = pd.Series((low > 0) | (high < 0), dtype="boolean").mask(suppressed)
    return pd.DataFrame({"difference": difference, "low": low, "high": high,
                         "significant": significant, "suppressed": suppressed.astype(bool)})


def _side(counts: pd.DataFrame, measure: str, min_n: int, confidence: float) -> pd.DataFrame:
    """n, successes, rate, low, high of one measure (rate NaN below min_n)."""
    successes, trials = _MEASURE_COLUMNS[measure]
    rated = rates_from_counts(counts[list(COUNT_COLUMNS)].reset_index(drop=True), min_n=min_n,
                              confidence=confidence)
    return pd.DataFrame({"n": rated[trials].astype("int64"), "successes": rated[successes].astype("int64"),
                         "rate": rated[f"{measure}_rate"], "low": rated[f"{measure}_low"],
                         "high": rated[f"{measure}_high"]})


def rate_change(counts, fiscal_year, by=("facility_code",), measure="satisfaction", min_n=MIN_N,
                confidence=0.95):
    """Year on year: each group's rate in `fiscal_year`, the year before, and the change.

    Parameters
    ----------
    counts : pandas.DataFrame
        Count table with ``fiscal_year`` and the `by` columns (other years are ignored).
    fiscal_year : int
        The year compared with ``fiscal_year - 1``.
    by : str or sequence of str, default ("facility_code",)
        Groups; empty for the whole table (e.g. the national rate).
    measure : {"satisfaction", "establishment"}, default "satisfaction"
    min_n : int, default MIN_N
        A year with fewer answers shows no rate, and the change is suppressed.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per group present in either year, sorted by `by`: the `by` columns, ``n``,
        ``successes``, ``rate``, ``low``, ``high`` (this year, Wilson interval),
        ``previous_n``, ``previous_successes``, ``previous_rate``, ``previous_low``,
        ``previous_high``, ``change`` (rate − previous rate), ``change_low``,
        ``change_high`` (Newcombe's hybrid score interval), ``significant`` (nullable boolean:
        the interval leaves out 0) and ``suppressed`` (either year below `min_n`).
    """
    _check_measure(measure)
    by = _as_list(by)
    frame = counts[counts["fiscal_year"].isin([fiscal_year, fiscal_year - 1])]
    key = by or ["_all"]
    frame = frame.assign(_all=0) if not by else frame
    summed = frame.groupby([*key, "fiscal_year"], dropna=False)[list(COUNT_COLUMNS)].sum()
    wide = summed.unstack("fiscal_year", fill_value=0)
    keys = wide.index.to_frame(index=False) if len(wide) else pd.DataFrame(columns=key)

    def year(value):
        table = pd.DataFrame({column: (wide[(column, value)] if (column, value) in wide.columns
                                       else pd.Series(0, index=wide.index)).to_numpy()
                              for column in COUNT_COLUMNS}, dtype="int64")
        return _side(table, measure, min_n, confidence)

    current, previous = year(fiscal_year), year(fiscal_year - 1)
    change = _difference(current["successes"], current["n"], previous["successes"], previous["n"],
                         min_n, confidence)
    out = pd.concat([keys.reset_index(drop=True), current,
                     previous.add_prefix("previous_"),
                     change.rename(columns={"difference": "change", "low": "change_low",
                                            "high": "change_high"})], axis=1)
    out = out.drop(columns=["_all"], errors="ignore")
    return out.sort_values(by).reset_index(drop=True) if by else out


def versus_rest(counts, by="facility_code", measure="satisfaction", min_n=MIN_N, confidence=0.95):
    """Each group against all the others pooled ("this facility and the rest of the country").

    The rest, not the whole, so that the two sides are independent samples: a facility's own
    answers are not on both sides of the difference.

    Parameters
    ----------
    counts : pandas.DataFrame
        Count table of one period; several rows of a group are summed.
    by : str or sequence of str, default "facility_code"
    measure : {"satisfaction", "establishment"}, default "satisfaction"
    min_n : int, default MIN_N
        A group or rest with fewer answers shows no difference.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted by `by`: the `by` columns, ``n``, ``successes``, ``rate``,
        ``low``, ``high``, ``rest_n``, ``rest_successes``, ``rest_rate``, ``rest_low``,
        ``rest_high``, ``difference`` (rate − rest rate), ``difference_low``,
        ``difference_high``, ``significant`` and ``suppressed``.
    """
    _check_measure(measure)
    by = _as_list(by)
    own = counts.groupby(by, dropna=False, sort=True)[list(COUNT_COLUMNS)].sum().reset_index()
    rest = own[list(COUNT_COLUMNS)].sum() - own[list(COUNT_COLUMNS)]
    mine, others = _side(own, measure, min_n, confidence), _side(rest, measure, min_n, confidence)
    difference = _difference(mine["successes"], mine["n"], others["successes"], others["n"],
                             min_n, confidence)
    return pd.concat([own[by].reset_index(drop=True), mine, others.add_prefix("rest_"),
                      difference.rename(columns={"low": "difference_low", "high": "difference_high"})],
                     axis=1)


def group_summary(rates, by, measures=MEASURES, threshold=TARGET_RATE, min_n=MIN_N, confidence=0.95):
    """The national summary per group of facilities, with the group's pooled rates.

    Parameters
    ----------
    rates : pandas.DataFrame
        One row per facility and group, as from :func:`analysis.satisfaction.rates_from_counts`
        with the `by` columns merged in. A facility in several groups (several support target
        groups) has one row per group: it is counted in each, as the ministry report does.
    by : str or sequence of str
        The grouping columns, e.g. ``"operator_kind"``.
    measures : sequence of {"satisfaction", "establishment"}
    threshold : float, default TARGET_RATE
    min_n : int, default MIN_N
        Suppression threshold of the pooled rates.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted by `by`: the `by` columns, ``facilities`` (rows), for each
        measure ``{measure}_eligible``, ``{measure}_meeting``, ``{measure}_suppressed`` (as
        :func:`analysis.satisfaction.national_summary`) and ``{measure}_share``, then the
        pooled counts with their rates and Wilson intervals (:func:`rates_from_counts`).
    """
    by = _as_list(by)
    for measure in measures:
        _check_measure(measure)
    rows = []
    for key, group in rates.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = {**dict(zip(by, key)), "facilities": len(group)}
        for measure in measures:
            summary = national_summary(group, measure=measure, threshold=threshold)
            row[f"{measure}_eligible"] = summary["eligible"]
            row[f"{measure}_meeting"] = summary["meeting"]
            row[f"{measure}_suppressed"] = summary["suppressed"]
            row[f"{measure}_share"] = (summary["meeting"] / summary["eligible"]
                                       if summary["eligible"] else float("nan"))
        for column in COUNT_COLUMNS:
            row[column] = int(group[column].sum())
        rows.append(row)
    columns = [*by, "facilities"]
    for measure in measures:
        columns += [f"{measure}_{name}" for name in ("eligible", "meeting", "suppressed", "share")]
    if not rows:
        return pd.DataFrame(columns=[*columns, *COUNT_COLUMNS])
    table = pd.DataFrame(rows)
    pooled = rates_from_counts(table[list(COUNT_COLUMNS)], min_n=min_n, confidence=confidence,
                               threshold=threshold)
    return pd.concat([table[columns], pooled], axis=1)
