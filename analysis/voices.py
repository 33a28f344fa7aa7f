"""A stored run's 「利用者の声」 figures, read from the database: what the reports and notebooks show.

Satisfaction of those who mention each theme (with Wilson intervals) and the comments no theme
covers (「未分類」), which are counted and shown, never dropped. Counts come from
:mod:`analysis.store`, the numbers from the pure functions of :mod:`analysis.satisfaction`.
"""
from __future__ import annotations

import pandas as pd

from . import store
from .masking import mask_personal_data
from .satisfaction import MIN_N, satisfaction_by_mention

__all__ = ["UNCLASSIFIED_COLUMNS", "mention_satisfaction", "unclassified_comments"]

UNCLASSIFIED_COLUMNS = ("response_id", "facility_code", "fiscal_year", "month", "comment")


def mention_satisfaction(engine, run_id=None, fiscal_years=None, facility_codes=None, min_n=MIN_N,
                         confidence=0.95):
    """Satisfaction of the people who mention each theme and of everyone else.

    "Do the people who bring up waiting rate lower?": for each theme, the top-2 rate of the
    respondents who mention it against every other answer of the same facilities and years.

    Parameters
    ----------
    engine : Engine or str
    run_id : int, optional
        The latest complete run by default.
    fiscal_years, facility_codes : optional
        As in :func:`analysis.store.aggregate_counts`.
    min_n : int, default MIN_N
        A group with fewer answers shows no rate.
    confidence : float, default 0.95
        Of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        :func:`analysis.satisfaction.satisfaction_by_mention`'s columns with ``theme_label``
        after ``theme_id``, most-mentioned theme first.
    """
    mentioned = store.mention_counts(engine, run_id, by=("theme_id",), fiscal_years=fiscal_years,
                                     facility_codes=facility_codes)
    totals = store.aggregate_counts(engine, by=(), fiscal_years=fiscal_years,
                                    facility_codes=facility_codes)
    table = satisfaction_by_mention(mentioned, totals, min_n=min_n, confidence=confidence)
    labels = store.read_themes(engine, run_id).set_index("theme_id")["label"]
    table.insert(1, "theme_label", table["theme_id"].map(labels).fillna(table["theme_id"]))
    return table.sort_values(["n", "theme_id"], ascending=[False, True]).reset_index(drop=True)


def unclassified_comments(engine, run_id=None, fiscal_years=None, facility_codes=None, mask=True):
    """Every comment with content that a run placed in no theme (「未分類」), newest first.

    The same comments :func:`analysis.store.unclassified_counts` counts.

    Parameters
    ----------
    engine : Engine or str
    run_id : int, optional
        The latest complete run by default.
    fiscal_years, facility_codes : optional
    mask : bool, default True
        Hide phone numbers, e-mail addresses and names (:func:`analysis.masking.mask_personal_data`).

    Returns
    -------
    pandas.DataFrame
        ``response_id``, ``facility_code``, ``fiscal_year``, ``month`` (Tokyo), ``comment``.
    """
    assignments = store.read_theme_assignments(engine, run_id)
    left = assignments[assignments["theme_id"].isna() & assignments["source"].ne("no_comment")]
    responses = store.read_responses(engine, fiscal_years=fiscal_years, facility_codes=facility_codes)
    found = left.merge(responses[["response_id", "submitted_at", "comment"]], on="response_id")
    found = found.sort_values(["submitted_at", "response_id"], ascending=False)
    if mask:
        found["comment"] = found["comment"].map(mask_personal_data)
    return pd.DataFrame(found[list(UNCLASSIFIED_COLUMNS)]).reset_index(drop=True)
