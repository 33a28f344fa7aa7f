"""「利用者の声」: what respondents praise and what they ask for, per theme, from a run's mentions.

Counts come from `analysis.store.mention_counts` (GROUP BY in the database), rates and Wilson
intervals from `analysis.satisfaction` (through `analysis.voices`, which the notebooks use too), quotes are the mention's span of the comment masked by
`analysis.masking.masked_span`. Callers pass only facilities the user may see, so a manager's
figures and quotes are of their facilities only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from analysis.masking import masked_span
from analysis.satisfaction import MIN_N
from analysis.store import mention_counts, unclassified_counts
from analysis.voices import mention_satisfaction

from ..extensions import db
from ..models import Response, ResponseTheme, ThemeMention
from .queries import _nan_to_none, fiscal_year_months, theme_labels

POLARITY_LABELS = {"praise": "評価する声", "request": "充実を求める意見"}
TOP_VOICE_THEMES = 3
QUOTES_PER_THEME = 3
UNCLASSIFIED_EXAMPLES = 3


@dataclass
class Voices:
    """Everything the 「利用者の声」 section shows for a set of facilities and one year."""

    run: dict | None
    has_mentions: bool = False
    # Per theme, most-mentioned first: {theme_id, label, praise, request, months: [{month, praise, request}]}.
    themes: list[dict] = field(default_factory=list)
    # {"praise": [{theme_id, label, count, quotes}], "request": [...]}: the top themes of each.
    top: dict = field(default_factory=dict)
    # Per theme: satisfaction of those who mention it and of everyone else (with intervals).
    by_mention: list[dict] = field(default_factory=list)
    unclassified: int = 0
    unclassified_examples: list[str] = field(default_factory=list)


def run_has_mentions(run_id: int) -> bool:
    """Runs stored before mentions existed (or by a caller that gave none) have no rows."""
    return db.session.scalar(
        sa.select(sa.literal(1)).where(ThemeMention.run_id == run_id).limit(1)) is not None


def theme_table(run_id: int, fiscal_year: int, codes: list[str], labels: dict[str, str]) -> list[dict]:
    """Praise and request respondents per theme, with their monthly counts (April–March)."""
    monthly = mention_counts(db.engine, run_id, by=("month", "theme_id", "polarity"),
                             fiscal_years=[fiscal_year], facility_codes=codes)
    themes: dict[str, dict] = {}
    months = fiscal_year_months(fiscal_year)
    for row in monthly.itertuples(index=False):
        theme = themes.setdefault(row.theme_id, {
            "theme_id": row.theme_id, "label": labels.get(row.theme_id, row.theme_id),
            "praise": 0, "request": 0,
            "months": {month: {"month": month, "praise": 0, "request": 0} for month in months}})
        theme[row.polarity] += int(row.respondents)
        if row.month in theme["months"]:
            theme["months"][row.month][row.polarity] += int(row.respondents)
    ordered = sorted(themes.values(), key=lambda t: (-(t["praise"] + t["request"]), t["theme_id"]))
    for theme in ordered:
        theme["months"] = list(theme["months"].values())
    return ordered


def quotes(run_id: int, theme_id: str, polarity: str, facility_ids: list[int], fiscal_year: int,
           limit: int = QUOTES_PER_THEME) -> list[str]:
    """Up to `limit` different masked quotes of a theme and polarity, best-scoring main points first."""
    rows = db.session.execute(
        sa.select(ThemeMention.span_start, ThemeMention.span_end, Response.comment_masked,
                  Response.comment)
        .join(Response, Response.id == ThemeMention.response_id)
        .where(ThemeMention.run_id == run_id, ThemeMention.theme_id == theme_id,
               ThemeMention.polarity == polarity, Response.facility_id.in_(facility_ids),
               Response.fiscal_year == fiscal_year)
        .order_by(ThemeMention.rank, ThemeMention.score.desc().nulls_last(),
                  Response.submitted_at.desc(), Response.id.desc())
        .limit(limit * 10))
    found: list[str] = []
    for start, end, masked, comment in rows:
        # The stored masked form reads the same as the comment masked now (see masked_span).
        quote = masked_span(masked if masked is not None else comment, start, end)
        if quote and quote not in found:
            found.append(quote)
        if len(found) == limit:
            break
    return found


def unclassified_examples(run_id: int, facility_ids: list[int], fiscal_year: int,
                          limit: int = UNCLASSIFIED_EXAMPLES) -> list[str]:
    rows = db.session.execute(
        sa.select(Response.comment_masked, Response.comment)
        .join(ResponseTheme, ResponseTheme.response_id == Response.id)
        .where(ResponseTheme.run_id == run_id, ResponseTheme.theme_id.is_(None),
               ResponseTheme.source != "no_comment", Response.facility_id.in_(facility_ids),
               Response.fiscal_year == fiscal_year)
        .order_by(Response.submitted_at.desc(), Response.id.desc()).limit(limit))
    return [masked_span(masked if masked is not None else comment, 0, 0) for masked, comment in rows]


def satisfaction_rows(run_id: int, fiscal_year: int, codes: list[str], labels: dict[str, str]) -> list[dict]:
    """Satisfaction of those who mention each theme and of the others, largest group first."""
    table = mention_satisfaction(db.engine, run_id, fiscal_years=[fiscal_year], facility_codes=codes,
                                 min_n=MIN_N)
    # The reader's labels: a manager's discovered themes are named from their own comments.
    return [{key: _nan_to_none(value) for key, value in record.items()}
            | {"label": labels.get(record["theme_id"], record["theme_id"])}
            for record in table.drop(columns="theme_label").to_dict("records")]


def voices(run: dict | None, facilities: list, fiscal_year: int, *, with_quotes: bool = True) -> Voices:
    """The 「利用者の声」 of `facilities` (those the user may see) in one fiscal year."""
    if not run or not facilities:
        return Voices(run=run)
    run_id = run["results_run_id"]
    codes = [f.code for f in facilities]
    ids = [f.id for f in facilities]
    unclassified = unclassified_counts(db.engine, run_id, by=(), fiscal_years=[fiscal_year],
                                       facility_codes=codes)
    result = Voices(run=run, unclassified=int(unclassified["unclassified"].sum()))
    if with_quotes and result.unclassified:
        result.unclassified_examples = unclassified_examples(run_id, ids, fiscal_year)
    if not run_has_mentions(run_id):
        return result
    result.has_mentions = True
    labels = theme_labels(run_id, ids)
    result.themes = theme_table(run_id, fiscal_year, codes, labels)
    for polarity in POLARITY_LABELS:
        ranked = sorted((t for t in result.themes if t[polarity]),
                        key=lambda t: (-t[polarity], t["theme_id"]))[:TOP_VOICE_THEMES]
        result.top[polarity] = [
            {"theme_id": t["theme_id"], "label": t["label"], "count": t[polarity],
             "quotes": quotes(run_id, t["theme_id"], polarity, ids, fiscal_year) if with_quotes else []}
            for t in ranked]
    result.by_mention = satisfaction_rows(run_id, fiscal_year, codes, labels)
    return result


def by_facility(run: dict | None, facilities: list, fiscal_year: int) -> dict[str, dict]:
    """Per facility code: {"praise": [(label, n)…], "request": […], "unclassified": n} (exports)."""
    if not run or not facilities:
        return {}
    codes = [f.code for f in facilities]
    result = {code: {"praise": [], "request": [], "unclassified": 0} for code in codes}
    unclassified = unclassified_counts(db.engine, run["results_run_id"], by=("facility_code",),
                                       fiscal_years=[fiscal_year], facility_codes=codes)
    for row in unclassified.itertuples(index=False):
        result[row.facility_code]["unclassified"] = int(row.unclassified)
    counts = mention_counts(db.engine, run["results_run_id"], by=("facility_code", "theme_id", "polarity"),
                            fiscal_years=[fiscal_year], facility_codes=codes)
    if counts.empty:
        return result
    labels = theme_labels(run["results_run_id"], [f.id for f in facilities])
    counts = counts.sort_values(["facility_code", "respondents", "theme_id"],
                                ascending=[True, False, True])
    for row in counts.itertuples(index=False):
        result[row.facility_code][row.polarity].append(
            {"theme_id": row.theme_id, "label": labels.get(row.theme_id, row.theme_id),
             "count": int(row.respondents)})
    return result


def monthly_rows(run: dict | None, facilities: list, fiscal_year: int) -> pd.DataFrame:
    """facility_code, theme_id, month, polarity, respondents: the exports' monthly trend."""
    if not run or not facilities:
        return pd.DataFrame(columns=["facility_code", "theme_id", "month", "polarity", "respondents"])
    return mention_counts(db.engine, run["results_run_id"], by=("facility_code", "theme_id", "month", "polarity"),
                          fiscal_years=[fiscal_year], facility_codes=[f.code for f in facilities])
