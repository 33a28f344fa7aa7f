"""Yearly targets (年度目標) against results: which are met, and how each facility fared.

The seed judges every facility against the targets its operating council (運営協議会) sets
each fiscal year and counts 達成 / 一部達成 / 未達成 nationwide next to the people who found
work. These functions do the same on DataFrames; no I/O, no web application.

Targets come as one row per facility, fiscal year and indicator with at least the columns
``facility_code``, ``fiscal_year``, ``indicator_key``, ``target``, ``result`` and optionally
``direction`` (``"higher"``, the default, or ``"lower"`` when less is better) and ``kind``
(``"count"`` or ``"rate"``; rates are percentages compared as they are, never summed).
"""
import numpy as np
import pandas as pd

STATUSES = ("achieved", "partly", "not_achieved")
STATUS_LABELS = {"achieved": "達成", "partly": "一部達成", "not_achieved": "未達成"}
DIRECTIONS = ("higher", "lower")
# The indicator whose results add up to 就職者数 (people who found work).
EMPLOYMENT_KEY = "employments"
# The seed's national figures for 平成24年度, for showing next to our own.
SEED_FY2012 = {"fiscal_year": 2012, "municipalities": 80, "facilities": 106,
               "achieved": 34, "partly": 37, "not_achieved": 9, "employments": 44128}
# Results equal to the target within this much count as met (rates such as 66.7 %).
TOLERANCE = 1e-9

_CLASSIFIED_COLUMNS = ["status", "status_label", "n_indicators", "n_met", "n_pending"]


def indicator_met(df: pd.DataFrame) -> pd.Series:
    """Return whether each row's result meets its target.

    Parameters
    ----------
    df : DataFrame
        Columns ``target`` and ``result``; optional ``direction`` (``"higher"`` when absent
        or empty: result ≥ target meets it; ``"lower"``: result ≤ target meets it).

    Returns
    -------
    Series
        Nullable boolean aligned with ``df``: ``True``/``False``, or ``<NA>`` when the
        result (or the target) is not known yet.
    """
    target = pd.to_numeric(df["target"], errors="coerce").astype("float64")
    result = pd.to_numeric(df["result"], errors="coerce").astype("float64")
    if "direction" in df:
        direction = df["direction"].fillna("higher").replace("", "higher")
    else:
        direction = pd.Series("higher", index=df.index)
    unknown = sorted(set(direction) - set(DIRECTIONS))
    if unknown:
        raise ValueError(f"unknown direction(s) {unknown}; allowed: {list(DIRECTIONS)}")
    lower = (direction == "lower").to_numpy()
    met = np.where(lower, result <= target + TOLERANCE, result >= target - TOLERANCE)
    out = pd.Series(met, index=df.index, dtype="boolean")
    out[target.isna() | result.isna()] = pd.NA
    return out


def classify_facilities(targets_df: pd.DataFrame,
                        by: tuple[str, ...] = ("facility_code", "fiscal_year")) -> pd.DataFrame:
    """Classify each facility-year as achieved, partly or not achieved.

    All assessed targets met → ``achieved`` (達成), some → ``partly`` (一部達成), none →
    ``not_achieved`` (未達成). Targets without a result yet are counted in ``n_pending`` and
    not judged; a group with no assessed target is left out (not classified), as are
    facilities without targets.

    Parameters
    ----------
    targets_df : DataFrame
        One row per target (see the module docstring).
    by : tuple of str
        The unit that is classified. Pass ``("municipality", "fiscal_year")`` for the seed's
        per-自治体 view: all targets of all its facilities pooled ("一部の拠点を除いて" is
        then 一部達成).

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``status``, ``status_label``, ``n_indicators`` (assessed),
        ``n_met`` and ``n_pending``; sorted by ``by``.
    """
    by = list(by)
    if targets_df.empty:
        return pd.DataFrame(columns=by + _CLASSIFIED_COLUMNS)
    frame = targets_df[by].copy()
    met = indicator_met(targets_df)
    frame["assessed"] = met.notna().astype(int)
    frame["met"] = met.fillna(False).astype(int)
    frame["pending"] = met.isna().astype(int)
    counts = (frame.groupby(by, sort=True, dropna=False)
              .agg(n_indicators=("assessed", "sum"), n_met=("met", "sum"),
                   n_pending=("pending", "sum"))
              .reset_index())
    counts = counts[counts["n_indicators"] > 0].reset_index(drop=True)
    counts["status"] = np.select(
        [counts["n_met"] == counts["n_indicators"], counts["n_met"] > 0],
        ["achieved", "partly"], default="not_achieved")
    counts["status_label"] = counts["status"].map(STATUS_LABELS)
    for column in ("n_indicators", "n_met", "n_pending"):
        counts[column] = counts[column].astype(int)
    return counts[by + _CLASSIFIED_COLUMNS]


def employments_by_facility(targets_df: pd.DataFrame,
                            by: tuple[str, ...] = ("facility_code", "fiscal_year"),
                            key: str = EMPLOYMENT_KEY) -> pd.DataFrame:
    """Return the 就職者数 result per facility-year: the ``key`` indicator's known results.

    Returns
    -------
    DataFrame
        The ``by`` columns and ``employments`` (float; facilities without the indicator
        or without its result are left out).
    """
    by = list(by)
    rows = targets_df[(targets_df["indicator_key"] == key) & targets_df["result"].notna()]
    if "kind" in rows:
        rows = rows[rows["kind"].fillna("count") == "count"]
    out = rows.groupby(by, sort=True)["result"].sum().reset_index()
    return out.rename(columns={"result": "employments"})


def achievement_summary(classified_df: pd.DataFrame, employments_df: pd.DataFrame | None = None,
                        by: tuple[str, ...] = ("fiscal_year",)) -> pd.DataFrame:
    """Count achieved / partly / not achieved and total the employments, in the seed's form.

    Parameters
    ----------
    classified_df : DataFrame
        Output of :func:`classify_facilities`, with any extra columns named in ``by``
        (e.g. ``prefecture``, ``operator_kind`` merged in beforehand).
    employments_df : DataFrame, optional
        Output of :func:`employments_by_facility` (its ``employments`` column summed per
        group; it may include facilities that are not classified). ``None``: totals are 0.
    by : tuple of str
        Grouping columns present in both frames.

    Returns
    -------
    DataFrame
        One row per group: ``by`` columns, ``n_classified``, ``achieved``, ``partly``,
        ``not_achieved`` (ints) and ``employments`` (the total 就職者数, float).
    """
    by = list(by)
    if classified_df.empty:
        counts = pd.DataFrame(columns=by + list(STATUSES))
    else:
        counts = (pd.crosstab([classified_df[c] for c in by], classified_df["status"])
                  .reindex(columns=list(STATUSES), fill_value=0)
                  .reset_index())
        counts.columns.name = None
    if employments_df is not None and not employments_df.empty:
        totals = employments_df.groupby(by, sort=True)["employments"].sum().reset_index()
    else:
        totals = pd.DataFrame(columns=by + ["employments"])
    if counts.empty and totals.empty:
        return pd.DataFrame(columns=by + ["n_classified", *STATUSES, "employments"])
    out = counts.merge(totals, on=by, how="outer")
    for column in STATUSES:
        out[column] = out[column].fillna(0).astype(int)
    out["n_classified"] = out[list(STATUSES)].sum(axis=1).astype(int)
    out["employments"] = out["employments"].fillna(0.0).astype(float)
    return out.sort_values(by).reset_index(drop=True)[
        by + ["n_classified", *STATUSES, "employments"]]
