"""Satisfaction rates, confidence intervals and theme shares: pure functions on DataFrames.

Every function takes a DataFrame and returns a new, tidy DataFrame (or a small dict); none of
them reads files or databases. The database counterpart of :func:`count_answers` is
:func:`analysis.store.aggregate_counts`, which returns the same columns computed with GROUP BY.

Rates are top-2-box: satisfaction 1 (満足) or 2 (まあ満足) out of all satisfaction answers;
establishment 1 (そう思う) or 2 (まあそう思う) out of all establishment answers. A group with
fewer than ``MIN_N`` answers is *suppressed*: its rates and bounds are NaN, never 0% or 100%.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

__all__ = [
    "COUNT_COLUMNS",
    "MIN_N",
    "PERIODS",
    "TARGET_RATE",
    "TOP2",
    "add_period_columns",
    "count_answers",
    "difference_interval",
    "national_report_sentences",
    "national_summary",
    "national_summary_table",
    "rates_from_counts",
    "satisfaction_by",
    "satisfaction_by_mention",
    "satisfaction_by_theme",
    "theme_shares",
    "voice_counts",
    "wilson_interval",
]

MIN_N = 10
TARGET_RATE = 0.9
TOP2 = (1, 2)
PERIODS = ("fiscal_year", "month")
COUNT_COLUMNS = ("n", "satisfied", "n_establishment", "establishment_approved")
MEASURES = ("satisfaction", "establishment")
# Tokyo has had no daylight saving time since 1951: the calendar is UTC + 9 hours.
TOKYO_OFFSET = pd.Timedelta(hours=9)
# Rates are ratios of small integers; keep 27/30 on the right side of 0.9.
_RATE_EPSILON = 1e-12

# The ministry report's own sentences (平成24年度): a bold lead, then the counts in brackets.
_REPORT_LEAD = {
    "satisfaction": "{share}の施設で{threshold}以上の利用者満足度",
    "establishment": "{share}の施設で{threshold}以上の利用者が設置を評価",
}
_REPORT_DETAIL = {
    "satisfaction": "アンケート調査を実施した{eligible}施設のうち、{meeting}施設で{threshold}以上の利用者満足度",
    "establishment": ("アンケート調査を実施した{eligible}施設のうち、{meeting}施設で{threshold}以上の利用者が"
                      "「施設ができてよかったか」との質問に対して「そう思う」又は「まあそう思う」との評価"),
}
# "ほぼ全て" from this share on (the seed says it of 75 of 78 facilities, 96 %).
_NEARLY_ALL = 0.95
_SUMMARY_TEXT = {
    "satisfaction": "{eligible}施設中{meeting}施設で{threshold}以上の利用者満足度",
    "establishment": "{eligible}施設中{meeting}施設で{threshold}以上の利用者が設置を評価",
}


def _as_list(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _z_value(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes, n, confidence=0.95):
    """Return the Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes : int, array-like or pandas.Series
        Number of successes (e.g. satisfied respondents).
    n : int, array-like or pandas.Series
        Number of trials (answers); broadcast against `successes`.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    low, high : float, numpy.ndarray or pandas.Series
        Bounds in [0, 1]; NaN where ``n == 0``. Scalars in give floats out, a Series in gives
        Series out (with the index of `successes`, or of `n`).

    Examples
    --------
    >>> low, high = wilson_interval(9, 10)
    >>> round(low, 4), round(high, 4)
    (0.5958, 0.9821)
    """
    z = _z_value(confidence)
    index = None
    for value in (successes, n):
        if isinstance(value, pd.Series):
            index = value.index
            break
    s = np.asarray(successes, dtype=float)
    trials = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / trials
        z2 = z * z
        denominator = 1 + z2 / trials
        centre = (p + z2 / (2 * trials)) / denominator
        half = z * np.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
        valid = trials > 0
        low = np.where(valid, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(valid, np.clip(centre + half, 0.0, 1.0), np.nan)
    # Exact bounds at the edges (the formula gives them up to rounding).
    low = np.where(valid & (s <= 0), 0.0, low)
    high = np.where(valid & (s >= trials), 1.0, high)
    if index is not None:
        return pd.Series(low, index=index), pd.Series(high, index=index)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high



def difference_interval(successes1, n1, successes2, n2, confidence=0.95):
    """Return Newcombe's hybrid score interval for the difference of two proportions.

    The difference is ``successes1 / n1 - successes2 / n2``. Newcombe's method 10 (Statistics
    in Medicine 17, 1998) combines the two Wilson intervals::

        low  = d - sqrt((p1 - l1)**2 + (u2 - p2)**2)
        high = d + sqrt((u1 - p1)**2 + (p2 - l2)**2)

    It is chosen over the Wald interval ``d ± z·se`` because facilities answer in tens, not
    thousands: near 90 % and with small n the Wald interval is too narrow (it collapses to a
    point when a year is 100 %) and can leave [-1, 1]; the hybrid score interval keeps close to
    its nominal coverage there and stays inside [-1, 1].

    Parameters
    ----------
    successes1, n1 : int, array-like or pandas.Series
        Successes and trials of the first group (e.g. this year).
    successes2, n2 : int, array-like or pandas.Series
        Successes and trials of the second group (e.g. the year before), broadcast together.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    low, high : float, numpy.ndarray or pandas.Series
        Bounds in [-1, 1]; NaN where either group has no trials. Series in give Series out.

    Examples
    --------
    >>> low, high = difference_interval(56, 70, 48, 80)
    >>> round(low, 4), round(high, 4)
    (0.0524, 0.3339)
    """
    low1, high1 = wilson_interval(successes1, n1, confidence)
    low2, high2 = wilson_interval(successes2, n2, confidence)
    index = next((v.index for v in (successes1, n1, successes2, n2) if isinstance(v, pd.Series)), None)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.asarray(successes1, dtype=float) / np.asarray(n1, dtype=float)
        p2 = np.asarray(successes2, dtype=float) / np.asarray(n2, dtype=float)
        low1, high1, low2, high2 = (np.asarray(v, dtype=float) for v in (low1, high1, low2, high2))
        difference = p1 - p2
        low = np.clip(difference - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2), -1.0, 1.0)
        high = np.clip(difference + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2), -1.0, 1.0)
    if index is not None:
        return pd.Series(low, index=index), pd.Series(high, index=index)
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high

def add_period_columns(responses):
    """Add the Tokyo-calendar ``month`` and, when missing, the ``fiscal_year`` of each answer.

    Parameters
    ----------
    responses : pandas.DataFrame
        Must have ``submitted_at``: naive UTC datetimes (timezone-aware values are converted
        to UTC first; strings are parsed).

    Returns
    -------
    pandas.DataFrame
        A copy with ``month`` ("YYYY-MM", Asia/Tokyo) and ``fiscal_year`` (int, April–March on
        the Tokyo calendar; an existing ``fiscal_year`` column is kept as it is).

    Examples
    --------
    >>> frame = pd.DataFrame({"submitted_at": [pd.Timestamp("2025-03-31 15:30")]})
    >>> add_period_columns(frame)[["month", "fiscal_year"]].iloc[0].tolist()
    ['2025-04', 2025]
    """
    out = responses.copy()
    if "submitted_at" not in out.columns:
        raise KeyError("add_period_columns needs a 'submitted_at' column")
    moments = pd.to_datetime(out["submitted_at"])
    if isinstance(moments.dtype, pd.DatetimeTZDtype):
        moments = moments.dt.tz_convert("UTC").dt.tz_localize(None)
    tokyo = moments + TOKYO_OFFSET
    out["month"] = tokyo.dt.strftime("%Y-%m").astype(object).where(tokyo.notna(), None)
    if "fiscal_year" not in out.columns:
        year = tokyo.dt.year
        out["fiscal_year"] = (year - (tokyo.dt.month < 4).astype(int)).astype("Int64")
        if not out["fiscal_year"].isna().any():
            out["fiscal_year"] = out["fiscal_year"].astype("int64")
    return out


def _ensure_period_columns(frame, columns):
    missing = [c for c in columns if c in PERIODS and c not in frame.columns]
    if missing:
        return add_period_columns(frame)
    return frame


def _normalise_key_columns(frame, by):
    """Give grouping keys stable dtypes, so pandas and SQL results compare equal."""
    for column in by:
        values = frame[column]
        if column == "fiscal_year":
            if values.isna().any():
                frame[column] = values.astype("Int64")
            else:
                frame[column] = values.astype("int64")
        elif not pd.api.types.is_numeric_dtype(values):
            frame[column] = values.astype(object).where(values.notna(), None)
    return frame


def _empty_counts(by):
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in by})
    for column in COUNT_COLUMNS:
        frame[column] = pd.Series(dtype="int64")
    if "fiscal_year" in by:
        frame["fiscal_year"] = frame["fiscal_year"].astype("int64")
    return frame


def count_answers(responses, by=("facility_code",)):
    """Count answers and top-2 answers per group.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per response with at least ``satisfaction`` and ``establishment`` (1–4 or
        missing) and the `by` columns. ``month`` and ``fiscal_year`` are derived from
        ``submitted_at`` when asked for and absent.
    by : str or sequence of str, default ("facility_code",)
        Grouping columns, e.g. ``("facility_code", "fiscal_year")`` or ``("month",)``; an
        empty sequence counts everything in one row. Missing keys (e.g. no respondent group)
        form their own group.

    Returns
    -------
    pandas.DataFrame
        The `by` columns, then ``n`` (answers to satisfaction), ``satisfied`` (answers 1 or 2),
        ``n_establishment`` and ``establishment_approved`` (1 or 2), as int64, sorted by `by`.

    See Also
    --------
    analysis.store.aggregate_counts : the same table computed in the database.
    """
    by = _as_list(by)
    frame = _ensure_period_columns(responses, by)
    missing = [c for c in [*by, "satisfaction", "establishment"] if c not in frame.columns]
    if missing:
        raise KeyError(f"responses lack column(s): {', '.join(missing)}")
    if frame.empty:
        if not by:
            return pd.DataFrame({column: [0] for column in COUNT_COLUMNS}, dtype="int64")
        return _empty_counts(by)
    satisfaction = pd.to_numeric(frame["satisfaction"], errors="coerce")
    establishment = pd.to_numeric(frame["establishment"], errors="coerce")
    work = pd.DataFrame({
        "n": satisfaction.notna().astype("int64"),
        "satisfied": satisfaction.isin(TOP2).astype("int64"),
        "n_establishment": establishment.notna().astype("int64"),
        "establishment_approved": establishment.isin(TOP2).astype("int64"),
    }, index=frame.index)
    if not by:
        return work.sum().to_frame().T.astype("int64").reset_index(drop=True)
    for column in by:
        work[column] = frame[column]
    counts = (work.groupby(by, dropna=False, sort=True)[list(COUNT_COLUMNS)].sum()
              .reset_index())
    counts = _normalise_key_columns(counts, by)
    counts[list(COUNT_COLUMNS)] = counts[list(COUNT_COLUMNS)].astype("int64")
    return counts[[*by, *COUNT_COLUMNS]].sort_values(by, na_position="last").reset_index(drop=True)


def _meets(rate, threshold, suppressed):
    meets = pd.Series(rate >= threshold - _RATE_EPSILON, index=rate.index, dtype="boolean")
    return meets.mask(suppressed | rate.isna())


def rates_from_counts(counts, min_n=MIN_N, confidence=0.95, threshold=TARGET_RATE):
    """Turn answer counts into top-2 rates with Wilson intervals, suppressing small groups.

    Parameters
    ----------
    counts : pandas.DataFrame
        Output of :func:`count_answers` or :func:`analysis.store.aggregate_counts`.
    min_n : int, default MIN_N
        Groups with fewer answers than this are suppressed.
    confidence : float, default 0.95
        Confidence level of the Wilson intervals.
    threshold : float, default TARGET_RATE
        The rate a group must reach for ``meets_target``.

    Returns
    -------
    pandas.DataFrame
        A copy of `counts` plus ``satisfaction_rate``, ``satisfaction_low``,
        ``satisfaction_high``, ``establishment_rate``, ``establishment_low``,
        ``establishment_high`` (floats; NaN when suppressed), ``suppressed`` (bool:
        ``n < min_n``), ``meets_target`` and ``establishment_meets_target`` (nullable boolean,
        NA when suppressed). The establishment measures are also NaN/NA when
        ``n_establishment < min_n``.
    """
    out = counts.copy()
    suppressed = out["n"] < min_n
    measures = (("satisfaction", "satisfied", "n", suppressed),
                ("establishment", "establishment_approved", "n_establishment",
                 out["n_establishment"] < min_n))
    for name, successes_column, n_column, hidden in measures:
        successes = out[successes_column].astype(float)
        trials = out[n_column].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = (successes / trials).where(trials > 0)
        low, high = wilson_interval(successes, trials, confidence)
        out[f"{name}_rate"] = rate.mask(hidden)
        out[f"{name}_low"] = low.mask(hidden)
        out[f"{name}_high"] = high.mask(hidden)
    out["suppressed"] = suppressed.astype(bool)
    out["meets_target"] = _meets(out["satisfaction_rate"], threshold, suppressed)
    out["establishment_meets_target"] = _meets(
        out["establishment_rate"], threshold, out["n_establishment"] < min_n)
    return out


def satisfaction_by(responses, by=("facility_code",), period=None, min_n=MIN_N, confidence=0.95):
    """Return top-2 satisfaction and establishment rates per group (and period).

    Parameters
    ----------
    responses : pandas.DataFrame
        See :func:`count_answers`.
    by : str or sequence of str, default ("facility_code",)
        Grouping columns.
    period : {None, "fiscal_year", "month"}, default None
        Add a period column to the grouping.
    min_n : int, default MIN_N
        Suppression threshold.
    confidence : float, default 0.95
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        ``rates_from_counts(count_answers(responses, by + [period]), min_n)``.
    """
    columns = _as_list(by)
    if period is not None:
        if period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS} or None, got {period!r}")
        if period not in columns:
            columns.append(period)
    return rates_from_counts(count_answers(responses, columns), min_n=min_n, confidence=confidence)


def _check_measure(measure):
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")


def national_summary(rates, measure="satisfaction", threshold=TARGET_RATE):
    """Count the facilities that reach the target, in the words of the ministry report.

    Parameters
    ----------
    rates : pandas.DataFrame
        One row per facility (one period), as from :func:`satisfaction_by`.
    measure : {"satisfaction", "establishment"}, default "satisfaction"
    threshold : float, default TARGET_RATE

    Returns
    -------
    dict
        ``eligible`` (facilities with enough answers), ``meeting`` (of those, rate ≥
        threshold), ``suppressed`` (facilities with too few answers) and ``text``, e.g.
        "82施設中68施設で90%以上の利用者満足度".

    Raises
    ------
    ValueError
        When a facility appears more than once (use :func:`national_summary_table`).
    """
    _check_measure(measure)
    if "facility_code" in rates.columns and rates["facility_code"].duplicated().any():
        raise ValueError("rates has several rows per facility; filter one period or use "
                         "national_summary_table")
    rate = rates[f"{measure}_rate"]
    eligible = int(rate.notna().sum())
    meeting = int((rate >= threshold - _RATE_EPSILON).sum())
    suppressed = int(len(rates) - eligible)
    percent = _percent_text(threshold)
    text = _SUMMARY_TEXT[measure].format(eligible=eligible, meeting=meeting, threshold=percent)
    return {"eligible": eligible, "meeting": meeting, "suppressed": suppressed, "text": text}


def _percent_text(threshold: float) -> str:
    return f"{threshold * 100:.0f}%" if float(threshold * 100).is_integer() else f"{threshold:.1%}"


def _share_words(meeting: int, eligible: int) -> str:
    """全て / ほぼ全て / 8割以上 / 1割未満: how the ministry report words a share of facilities."""
    if meeting == eligible:
        return "全て"
    share = meeting / eligible
    if share >= _NEARLY_ALL:
        return "ほぼ全て"
    tenths = math.floor(share * 10 + _RATE_EPSILON)
    return f"{tenths}割以上" if tenths else "1割未満"


def national_report_sentences(summary, measure="satisfaction", threshold=TARGET_RATE):
    """Word a :func:`national_summary` the way the ministry's national report does.

    Parameters
    ----------
    summary : dict
        :func:`national_summary` of the same `measure` and `threshold`.
    measure : {"satisfaction", "establishment"}, default "satisfaction"
    threshold : float, default TARGET_RATE

    Returns
    -------
    dict
        ``lead`` (e.g. "8割以上の施設で90%以上の利用者満足度") and ``detail`` (e.g.
        "アンケート調査を実施した82施設のうち、68施設で90%以上の利用者満足度"); both None when no
        facility has enough answers.

    Examples
    --------
    >>> national_report_sentences({"eligible": 82, "meeting": 68})["lead"]
    '8割以上の施設で90%以上の利用者満足度'
    """
    _check_measure(measure)
    eligible, meeting = int(summary["eligible"]), int(summary["meeting"])
    if not eligible:
        return {"lead": None, "detail": None}
    percent = _percent_text(threshold)
    return {
        "lead": _REPORT_LEAD[measure].format(share=_share_words(meeting, eligible), threshold=percent),
        "detail": _REPORT_DETAIL[measure].format(eligible=eligible, meeting=meeting, threshold=percent),
    }


def national_summary_table(rates, by="fiscal_year", measures=MEASURES, threshold=TARGET_RATE):
    """Return :func:`national_summary` per period, one row per period and measure.

    Parameters
    ----------
    rates : pandas.DataFrame
        One row per facility and period, e.g. ``satisfaction_by(r, period="fiscal_year")``.
    by : str or sequence of str, default "fiscal_year"
        The period column(s).
    measures : sequence of {"satisfaction", "establishment"}
    threshold : float, default TARGET_RATE

    Returns
    -------
    pandas.DataFrame
        Columns: the `by` columns, ``measure``, ``eligible``, ``meeting``, ``suppressed``,
        ``share`` (meeting / eligible, NaN when no facility is eligible) and ``text``.
    """
    by = _as_list(by)
    for measure in measures:
        _check_measure(measure)
    rows = []
    groups = rates.groupby(by, sort=True, dropna=False) if by else [((), rates)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for measure in measures:
            summary = national_summary(group, measure=measure, threshold=threshold)
            share = summary["meeting"] / summary["eligible"] if summary["eligible"] else math.nan
            rows.append({**dict(zip(by, key)), "measure": measure, **summary, "share": share})
    columns = [*by, "measure", "eligible", "meeting", "suppressed", "share", "text"]
    return pd.DataFrame(rows, columns=columns)


def _commented_mask(assignments):
    has_theme = assignments["theme_id"].notna() & (assignments["theme_id"].astype(str) != "")
    return has_theme


def _no_comment_mask(assignments):
    if "source" in assignments.columns:
        return assignments["source"].eq("no_comment")
    return ~_commented_mask(assignments)


def theme_shares(assignments, by=("facility_code",)):
    """Share of each theme among the comments that got a theme, per group.

    Parameters
    ----------
    assignments : pandas.DataFrame
        One row per response: ``response_id``, ``theme_id`` (None/NaN for no comment),
        ``theme_label``, ``source`` ("catalog", "discovery" or "no_comment") and the `by`
        columns (``month``/``fiscal_year`` are derived from ``submitted_at`` if absent).
    by : str or sequence of str, default ("facility_code",)
        Grouping columns; empty for one national table.

    Returns
    -------
    pandas.DataFrame
        The `by` columns, ``theme_id``, ``theme_label``, ``count``, ``share`` (count /
        n_comments), ``n_comments`` (responses of the group with a themed comment: the
        denominator), ``n_no_comment`` (responses without a comment, not in the denominator).
        Sorted by group, then by count descending and theme_id.
    """
    by = _as_list(by)
    frame = _ensure_period_columns(assignments, by)
    missing = [c for c in [*by, "theme_id", "theme_label"] if c not in frame.columns]
    if missing:
        raise KeyError(f"assignments lack column(s): {', '.join(missing)}")
    columns = [*by, "theme_id", "theme_label", "count", "share", "n_comments", "n_no_comment"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    work = frame[by].copy()
    work["_themed"] = _commented_mask(frame).astype("int64")
    work["_no_comment"] = _no_comment_mask(frame).astype("int64")
    work["theme_id"] = frame["theme_id"]
    work["theme_label"] = frame["theme_label"]
    key = by or ["_all"]
    if not by:
        work["_all"] = 0
    totals = (work.groupby(key, dropna=False)[["_themed", "_no_comment"]].sum()
              .rename(columns={"_themed": "n_comments", "_no_comment": "n_no_comment"}))
    themed = work[work["_themed"] == 1]
    counts = (themed.groupby([*key, "theme_id"], dropna=False)
              .agg(theme_label=("theme_label", "first"), count=("theme_id", "size"))
              .reset_index())
    out = counts.merge(totals.reset_index(), on=key, how="left")
    out["share"] = out["count"] / out["n_comments"]
    out = out.sort_values([*key, "count", "theme_id"],
                          ascending=[True] * len(key) + [False, True]).reset_index(drop=True)
    for column in ("count", "n_comments", "n_no_comment"):
        out[column] = out[column].astype("int64")
    return out[columns]


def satisfaction_by_theme(responses, assignments, min_n=MIN_N, confidence=0.95):
    """Compare the satisfaction of people who wrote about each theme with other commenters.

    For theme *t*, the comparison group is everyone whose comment got a theme other than
    *t* (no-comment answers are in neither group), so the question answered is "among those
    who commented, do the ones who mention waiting times rate lower?".

    Parameters
    ----------
    responses : pandas.DataFrame
        ``response_id`` and ``satisfaction``.
    assignments : pandas.DataFrame
        ``response_id``, ``theme_id``, ``theme_label`` (one row per response).
    min_n : int, default MIN_N
        A theme whose group or comparison group has fewer answers is suppressed.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per theme: ``theme_id``, ``theme_label``, ``n``, ``satisfied``,
        ``satisfaction_rate``, ``satisfaction_low``, ``satisfaction_high``, ``n_other``,
        ``satisfied_other``, ``other_rate``, ``difference`` (rate − other_rate),
        ``difference_low``/``difference_high`` (Newcombe's hybrid score interval),
        ``p_value`` (two-sided pooled two-proportion z-test) and ``suppressed``.
        Rates, interval and p-value are NaN when suppressed. Sorted by theme_id.
    """
    columns = ["theme_id", "theme_label", "n", "satisfied", "satisfaction_rate",
               "satisfaction_low", "satisfaction_high", "n_other", "satisfied_other",
               "other_rate", "difference", "difference_low", "difference_high", "p_value",
               "suppressed"]
    themed = assignments.loc[_commented_mask(assignments), ["response_id", "theme_id", "theme_label"]]
    merged = themed.merge(responses[["response_id", "satisfaction"]], on="response_id", how="inner")
    satisfaction = pd.to_numeric(merged["satisfaction"], errors="coerce")
    merged["_answered"] = satisfaction.notna().astype("int64")
    merged["_satisfied"] = satisfaction.isin(TOP2).astype("int64")
    if merged.empty:
        return pd.DataFrame(columns=columns)
    per_theme = (merged.groupby("theme_id")
                 .agg(theme_label=("theme_label", "first"), n=("_answered", "sum"),
                      satisfied=("_satisfied", "sum"))
                 .reset_index().sort_values("theme_id").reset_index(drop=True))
    total_n = int(merged["_answered"].sum())
    total_satisfied = int(merged["_satisfied"].sum())
    out = per_theme
    out["n_other"] = total_n - out["n"]
    out["satisfied_other"] = total_satisfied - out["satisfied"]
    suppressed = (out["n"] < min_n) | (out["n_other"] < min_n)

    n1, s1 = out["n"].astype(float), out["satisfied"].astype(float)
    n2, s2 = out["n_other"].astype(float), out["satisfied_other"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = s1 / n1, s2 / n2
        low1, high1 = wilson_interval(s1, n1, confidence)
        difference = p1 - p2
        diff_low, diff_high = difference_interval(s1, n1, s2, n2, confidence)
        pooled = (s1 + s2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = difference / se
    p_value = pd.Series([math.erfc(abs(v) / math.sqrt(2)) if np.isfinite(v) else math.nan
                         for v in z], index=out.index)
    # Everyone in both groups gave the same kind of answer: no evidence of a difference.
    p_value = p_value.mask((se == 0) & (difference == 0), 1.0)

    out["satisfaction_rate"] = p1.mask(suppressed)
    out["satisfaction_low"] = low1.mask(suppressed)
    out["satisfaction_high"] = high1.mask(suppressed)
    out["other_rate"] = p2.mask(suppressed)
    out["difference"] = difference.mask(suppressed)
    out["difference_low"] = diff_low.clip(-1, 1).mask(suppressed)
    out["difference_high"] = diff_high.clip(-1, 1).mask(suppressed)
    out["p_value"] = p_value.mask(suppressed)
    out["suppressed"] = suppressed.astype(bool)
    for column in ("n", "satisfied", "n_other", "satisfied_other"):
        out[column] = out[column].astype("int64")
    return out[columns]


def satisfaction_by_mention(mentions, totals, min_n=MIN_N, confidence=0.95):
    """Satisfaction of the people who mention each theme next to everyone else's.

    For theme *t*, the comparison group is every other answer of the same population (with
    or without a comment): "do the people who bring up waiting rate lower than the rest?".
    Both rates come with Wilson intervals (:func:`rates_from_counts`).

    Parameters
    ----------
    mentions : pandas.DataFrame
        :func:`analysis.store.mention_counts` grouped by ``theme_id`` alone: ``theme_id``
        and the count columns of the people who mention it.
    totals : pandas.DataFrame
        The count columns of everyone (e.g. :func:`analysis.store.aggregate_counts` of the
        same facilities and years); summed when it has several rows.
    min_n : int, default MIN_N
        A group with fewer answers shows no rate.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per theme, sorted by theme_id: ``theme_id``, ``n``, ``satisfied``,
        ``satisfaction_rate``, ``satisfaction_low``, ``satisfaction_high``, ``n_other``,
        ``satisfied_other``, ``other_rate``, ``other_low``, ``other_high`` (NaN below
        `min_n`).
    """
    columns = ["theme_id", "n", "satisfied", "satisfaction_rate", "satisfaction_low",
               "satisfaction_high", "n_other", "satisfied_other", "other_rate", "other_low",
               "other_high"]
    if mentions.empty:
        return pd.DataFrame(columns=columns)
    if mentions["theme_id"].duplicated().any():
        raise ValueError("mentions must hold one row per theme_id (group by theme_id alone)")
    whole = totals[list(COUNT_COLUMNS)].sum()
    own = mentions[["theme_id", *COUNT_COLUMNS]].sort_values("theme_id").reset_index(drop=True)
    other = own[["theme_id"]].copy()
    for column in COUNT_COLUMNS:
        other[column] = (int(whole[column]) - own[column]).clip(lower=0).astype("int64")
    own_rates = rates_from_counts(own, min_n=min_n, confidence=confidence)
    other_rates = rates_from_counts(other, min_n=min_n, confidence=confidence)
    out = own_rates[["theme_id", "n", "satisfied", "satisfaction_rate", "satisfaction_low",
                     "satisfaction_high"]].copy()
    out["n_other"] = other["n"]
    out["satisfied_other"] = other["satisfied"]
    out["other_rate"] = other_rates["satisfaction_rate"]
    out["other_low"] = other_rates["satisfaction_low"]
    out["other_high"] = other_rates["satisfaction_high"]
    return out[columns]


def voice_counts(mentions):
    """Respondents who praise each theme and who ask or complain about it.

    Parameters
    ----------
    mentions : pandas.DataFrame
        :func:`analysis.store.read_mentions`: ``response_id``, ``theme_id``, ``theme_label``,
        ``polarity`` ("praise" or "request").

    Returns
    -------
    pandas.DataFrame
        ``theme_id``, ``theme_label``, ``praise``, ``request`` (distinct respondents) and
        ``total``, most-mentioned first; empty (same columns) when there are no mentions.
    """
    columns = ["theme_id", "theme_label", "praise", "request", "total"]
    if mentions.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in columns[2:] else object)
                             for c in columns})
    distinct = mentions.drop_duplicates(["response_id", "theme_id", "polarity"])
    out = (distinct.assign(theme_label=distinct["theme_label"].fillna(distinct["theme_id"]))
           .groupby(["theme_id", "theme_label"])["polarity"].value_counts()
           .unstack("polarity", fill_value=0)
           .reindex(columns=["praise", "request"], fill_value=0)
           .reset_index())
    out.columns.name = None
    out["praise"] = out["praise"].astype("int64")
    out["request"] = out["request"].astype("int64")
    out["total"] = out["praise"] + out["request"]
    return out.sort_values(["total", "theme_id"], ascending=[False, True]).reset_index(drop=True)[columns]
