"""Database reads for the report pages and exports.

Rates are never computed from rows loaded into Python: counts come from GROUP BY queries
(`analysis.store.aggregate_counts` and the queries here) and the rates, intervals and the
national summary from the pure functions of `analysis.satisfaction`, so that the pages, the
exports and the notebooks agree to the digit.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from analysis.decisions import decisions_state
from analysis.masking import search_form
from analysis.satisfaction import COUNT_COLUMNS, MIN_N, national_summary, rates_from_counts
from analysis.store import aggregate_counts, latest_run
from analysis.text import normalize
from analysis.themes import central_phrase

from ..extensions import db
from ..models import Facility, Response, ResponseTheme, Theme

COMMENTS_PER_PAGE = 50
TOP_THEMES = 3
REPRESENTATIVE_COMMENTS = 5
# A manager's label of a discovered theme is chosen among this many of their best-placed comments.
DISCOVERED_LABEL_SOURCES = 50
TOKYO_OFFSET = timedelta(hours=9)


def fiscal_year_months(fiscal_year: int) -> list[str]:
    """Return the twelve "YYYY-MM" months of a fiscal year, April to March."""
    months = []
    for index in range(12):
        month = 4 + index
        year = fiscal_year + (month - 1) // 12
        months.append(f"{year}-{(month - 1) % 12 + 1:02d}")
    return months


def month_bounds_utc(month: str) -> tuple[datetime, datetime]:
    """Return the naive-UTC [start, end) of a Tokyo calendar month "YYYY-MM"."""
    year, number = int(month[:4]), int(month[5:7])
    start = datetime(year, number, 1)
    end = datetime(year + (number == 12), number % 12 + 1, 1)
    return start - TOKYO_OFFSET, end - TOKYO_OFFSET


def _month_expression(column):
    """SQL for the "YYYY-MM" of a naive UTC column on the Tokyo calendar."""
    if db.engine.dialect.name == "postgresql":
        shifted = column + sa.literal_column("interval '9 hours'", sa.Interval)
        return sa.func.to_char(shifted, sa.literal_column("'YYYY-MM'"))
    return sa.func.strftime(sa.literal_column("'%Y-%m'"), column, sa.literal_column("'+9 hours'"))


def _nan_to_none(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _rate_record(row) -> dict:
    """Plain-Python figures of one row of `rates_from_counts` (None where suppressed)."""
    record = {column: int(row[column]) for column in COUNT_COLUMNS}
    for measure in ("satisfaction", "establishment"):
        for suffix in ("rate", "low", "high"):
            value = _nan_to_none(row[f"{measure}_{suffix}"])
            record[f"{measure}_{suffix}"] = None if value is None else float(value)
    record["suppressed"] = bool(row["suppressed"])
    record["meets_target"] = bool(_nan_to_none(row["meets_target"]) or False)
    record["establishment_meets_target"] = bool(_nan_to_none(row["establishment_meets_target"]) or False)
    return record


def rate_records(counts: pd.DataFrame, keys=()) -> list[dict]:
    """`rates_from_counts` on every row at once, as plain dicts (with the `keys` columns)."""
    if counts.empty:
        return []
    rated = rates_from_counts(counts, min_n=MIN_N)
    records = []
    for row in rated.to_dict("records"):
        record = _rate_record(row)
        for key in keys:
            record[key] = _nan_to_none(row[key])
        records.append(record)
    return records


_EMPTY_RECORD: dict | None = None


def _empty_rate_record() -> dict:
    global _EMPTY_RECORD
    if _EMPTY_RECORD is None:
        counts = pd.DataFrame([{column: 0 for column in COUNT_COLUMNS}])
        _EMPTY_RECORD = _rate_record(rates_from_counts(counts, min_n=MIN_N).iloc[0])
    return dict(_EMPTY_RECORD)


def monthly_series(by_month: dict[str, dict], fiscal_year: int) -> list[dict]:
    """Twelve months (April–March) from rate records keyed by "YYYY-MM"; missing months are empty."""
    series = []
    for month in fiscal_year_months(fiscal_year):
        record = by_month.get(month) or _empty_rate_record()
        series.append({"month": month, "n": record["n"], "rate": record["satisfaction_rate"],
                       "low": record["satisfaction_low"], "high": record["satisfaction_high"],
                       "establishment_rate": record["establishment_rate"],
                       "suppressed": record["suppressed"], "counts": record})
    return series


def monthly_series_from_counts(monthly: pd.DataFrame, fiscal_year: int) -> list[dict]:
    """Twelve months with rates from per-month counts of one facility (or of all)."""
    return monthly_series({r["month"]: r for r in rate_records(monthly, ("month",))}, fiscal_year)


# ---------------------------------------------------------------------------- overview

@dataclass
class FacilityRow:
    facility: Facility
    figures: dict
    months: list[dict]
    themes: list[dict] = field(default_factory=list)


@dataclass
class Overview:
    fiscal_year: int
    rows: list[FacilityRow]
    satisfaction_summary: dict
    establishment_summary: dict
    totals: dict
    run: dict | None
    restricted: bool = False
    achievement: object = None  # reports.achievement.OverviewAchievement, set by the view
    voices: object = None  # reports.voices.Voices of the listed facilities, set by the view
    changes: dict = field(default_factory=dict)  # {code: year on year}, reports.comparison

    def counts(self) -> pd.DataFrame:
        """The year's counts per listed facility (facility_code and COUNT_COLUMNS)."""
        return pd.DataFrame([{"facility_code": row.facility.code,
                              **{column: row.figures[column] for column in COUNT_COLUMNS}}
                             for row in self.rows], columns=["facility_code", *COUNT_COLUMNS])


def overview(fiscal_year: int, facilities: list[Facility], *, restricted: bool,
             prefecture: str | None = None, operator_kind: str | None = None,
             with_themes: bool = True) -> Overview:
    """Figures of every listed facility for one fiscal year: one GROUP BY (facility, month).

    Facility totals are the sums of their months, so the table, the sparklines and the
    headline come from the same query. `restricted` (a manager) limits the query to the
    listed facilities; admins' queries are limited only by the filters.
    """
    codes = [f.code for f in facilities]
    if codes:
        monthly = aggregate_counts(
            db.engine, by=("facility_code", "month"), fiscal_years=[fiscal_year],
            facility_codes=codes if restricted else None,
            prefecture=prefecture or None, operator_kind=operator_kind or None)
    else:
        monthly = pd.DataFrame(columns=["facility_code", "month", *COUNT_COLUMNS])
    monthly = monthly[monthly["facility_code"].isin(codes)]
    totals = (monthly.groupby("facility_code", sort=True)[list(COUNT_COLUMNS)].sum()
              .reindex(codes, fill_value=0).reset_index())
    totals[list(COUNT_COLUMNS)] = totals[list(COUNT_COLUMNS)].astype("int64")
    rates = rates_from_counts(totals, min_n=MIN_N)
    by_code = {r["facility_code"]: r for r in rate_records(totals, ("facility_code",))}
    months_by_code: dict[str, dict[str, dict]] = {}
    for record in rate_records(monthly, ("facility_code", "month")):
        months_by_code.setdefault(record["facility_code"], {})[record["month"]] = record
    run = latest_run(db.engine)
    themes = (top_themes_by_facility(run["results_run_id"], fiscal_year, [f.id for f in facilities],
                                     restricted=restricted)
              if run and with_themes and facilities else {})
    rows = [FacilityRow(facility=f, figures=by_code[f.code],
                        months=monthly_series(months_by_code.get(f.code, {}), fiscal_year),
                        themes=themes.get(f.id, []))
            for f in facilities]
    all_counts = totals[list(COUNT_COLUMNS)].sum().to_frame().T.astype("int64")
    return Overview(
        fiscal_year=fiscal_year,
        rows=rows,
        satisfaction_summary=national_summary(rates, "satisfaction"),
        establishment_summary=national_summary(rates, "establishment"),
        totals=_rate_record(rates_from_counts(all_counts, min_n=MIN_N).iloc[0]),
        run=run,
        restricted=restricted,
    )


# Theme counts depend on the run's rows, the fiscal year and the analysts' decisions (which
# rewrite the latest run's rows), so they are cached under those: the overview need not join a
# million theme rows on every view. An incremental run adds rows to the run it extends and grows
# its themes' sizes, so the sum of those sizes is in the key. Entries expire after a while anyway,
# in case responses are deleted.
_THEME_CACHE: OrderedDict = OrderedDict()
_THEME_CACHE_LOCK = threading.Lock()
THEME_CACHE_SIZE = 32
THEME_CACHE_SECONDS = 600


def _theme_counts(run_id: int, fiscal_year: int, facility_ids: tuple[int, ...] | None) -> dict:
    """{facility_id: [(theme_id, count), …] by count} for a run and year, from SQL (cached)."""
    themed = db.session.scalar(sa.select(sa.func.sum(Theme.size)).where(Theme.run_id == run_id))
    key = (str(db.engine.url), run_id, themed, fiscal_year, facility_ids, decisions_state(db.engine))
    now = time.monotonic()
    with _THEME_CACHE_LOCK:
        cached = _THEME_CACHE.get(key)
        if cached and now - cached[0] < THEME_CACHE_SECONDS:
            _THEME_CACHE.move_to_end(key)
            return cached[1]
    r, rt = Response.__table__.c, ResponseTheme.__table__.c
    statement = (
        sa.select(r.facility_id, rt.theme_id, sa.func.count().label("count"))
        .select_from(ResponseTheme.__table__.join(Response.__table__, r.id == rt.response_id))
        .where(rt.run_id == run_id, rt.theme_id.is_not(None), r.fiscal_year == fiscal_year)
        .group_by(r.facility_id, rt.theme_id)
    )
    if facility_ids is not None:
        statement = statement.where(r.facility_id.in_(facility_ids))
    grouped: dict[int, list] = {}
    for facility_id, code, count in db.session.execute(statement):
        grouped.setdefault(facility_id, []).append((code, int(count)))
    for items in grouped.values():
        items.sort(key=lambda item: (-item[1], item[0]))
    with _THEME_CACHE_LOCK:
        _THEME_CACHE[key] = (now, grouped)
        while len(_THEME_CACHE) > THEME_CACHE_SIZE:
            _THEME_CACHE.popitem(last=False)
    return grouped


def top_themes_by_facility(run_id: int, fiscal_year: int, facility_ids: list[int],
                           limit: int | None = TOP_THEMES, restricted: bool = True) -> dict[int, list[dict]]:
    """Each facility's most frequent themes in a year: {facility_id: [{theme_id, label, count, share}]}.

    `share` is the theme's count over the facility's comments that got a theme (the
    denominator of `analysis.satisfaction.theme_shares`). With `restricted` False the counts
    of every facility are read (and cached) once and the listed ones picked from them.
    """
    grouped = _theme_counts(run_id, fiscal_year, tuple(sorted(facility_ids)) if restricted else None)
    labels = theme_labels(run_id, facility_ids if restricted else None)
    result = {}
    for facility_id in facility_ids:
        items = grouped.get(facility_id)
        if not items:
            continue
        total = sum(count for _, count in items)
        result[facility_id] = [{"theme_id": code, "label": labels.get(code, code), "count": count,
                                "share": count / total} for code, count in items[:limit]]
    return result


def theme_labels(run_id: int, facility_ids: list[int] | None = None) -> dict[str, str]:
    """theme_id -> label for a reader; `facility_ids`: the facilities a manager may see.

    A discovered theme's stored label is a phrase of one of its comments, which may be another
    facility's: for a manager it is taken from their own facilities' masked comments instead
    (「新しいテーマ D03」 when they have none).
    """
    rows = db.session.execute(sa.select(Theme.theme_id, Theme.label, Theme.source, Theme.words)
                              .where(Theme.run_id == run_id)).all()
    labels = {code: label for code, label, _source, _words in rows}
    discovered = {code: words or [] for code, _label, source, words in rows if source == "discovery"}
    if facility_ids is None or not discovered:
        return labels
    texts: dict[str, list[str]] = {}
    members = db.session.execute(
        sa.select(ResponseTheme.theme_id, Response.comment_masked)
        .join(Response, Response.id == ResponseTheme.response_id)
        .where(ResponseTheme.run_id == run_id, ResponseTheme.theme_id.in_(list(discovered)),
               Response.facility_id.in_(facility_ids), Response.comment_masked.is_not(None))
        .order_by(ResponseTheme.score.desc(), Response.id))
    for code, text in members:
        if len(texts.setdefault(code, [])) < DISCOVERED_LABEL_SOURCES:
            texts[code].append(normalize(text))
    for code, words in discovered.items():
        labels[code] = central_phrase(texts.get(code, []), words) or f"新しいテーマ {code}"
    return labels


# ---------------------------------------------------------------------------- one facility

def facility_counts(facility: Facility, fiscal_year: int, by) -> pd.DataFrame:
    return aggregate_counts(db.engine, by=("facility_code", *by), fiscal_years=[fiscal_year],
                            facility_codes=[facility.code])


def facility_figures(facility: Facility, fiscal_year: int) -> dict:
    """Year totals of one facility, with rates and intervals."""
    monthly = facility_counts(facility, fiscal_year, ("month",))
    return _totals_record(monthly)


def _totals_record(counts: pd.DataFrame) -> dict:
    totals = counts[list(COUNT_COLUMNS)].sum().to_frame().T.astype("int64")
    return _rate_record(rates_from_counts(totals, min_n=MIN_N).iloc[0])


def answer_distribution(facility: Facility, fiscal_year: int) -> tuple[dict, dict]:
    """Count each answer (1–4) to satisfaction and establishment in one query."""
    columns = []
    for name in ("satisfaction", "establishment"):
        column = getattr(Response, name)
        for value in (1, 2, 3, 4):
            columns.append(sa.func.coalesce(sa.func.sum(sa.case((column == value, 1), else_=0)), 0)
                           .label(f"{name}_{value}"))
    row = db.session.execute(
        sa.select(*columns).where(Response.facility_id == facility.id,
                                  Response.fiscal_year == fiscal_year)).one()
    values = row._mapping
    return ({v: int(values[f"satisfaction_{v}"]) for v in (1, 2, 3, 4)},
            {v: int(values[f"establishment_{v}"]) for v in (1, 2, 3, 4)})


def group_breakdown(facility: Facility, fiscal_year: int) -> list[dict]:
    """Rates per respondent group (支援対象者); groups under the minimum n are suppressed."""
    counts = facility_counts(facility, fiscal_year, ("respondent_group",))
    if counts.empty:
        return []
    return [{"group": record.pop("respondent_group"), **record}
            for record in rate_records(counts, ("respondent_group",))]


def national_comparison(fiscal_year: int) -> dict:
    """All facilities' pooled rate and the seed-style headline for one fiscal year."""
    counts = aggregate_counts(db.engine, by=("facility_code",), fiscal_years=[fiscal_year])
    rates = rates_from_counts(counts, min_n=MIN_N)
    return {
        "figures": _totals_record(counts) if not counts.empty else _empty_rate_record(),
        "summary": national_summary(rates, "satisfaction"),
        "establishment_summary": national_summary(rates, "establishment"),
        "facilities": len(counts),
    }


def facility_themes(run: dict | None, facility: Facility, fiscal_year: int,
                    restricted: bool = False) -> dict:
    """Themes of one facility's comments in a year: share, monthly share, representative comments.

    Only themes with comments in this facility and year are listed. With `restricted` (a
    manager) a theme's words are only those found in the masked text of those comments: the
    run names themes from every facility's comments.
    """
    if not run:
        return {"themes": [], "n_comments": 0}
    r, rt = Response.__table__.c, ResponseTheme.__table__.c
    month = _month_expression(r.submitted_at)
    statement = (
        sa.select(rt.theme_id, month.label("month"), sa.func.count().label("count"))
        .select_from(ResponseTheme.__table__.join(Response.__table__, r.id == rt.response_id))
        .where(rt.run_id == run["results_run_id"], rt.theme_id.is_not(None),
               r.facility_id == facility.id, r.fiscal_year == fiscal_year)
        .group_by(rt.theme_id, month)
    )
    per_theme: dict[str, dict[str, int]] = {}
    per_month: dict[str, int] = {}
    for code, month_value, count in db.session.execute(statement):
        per_theme.setdefault(code, {})[month_value] = int(count)
        per_month[month_value] = per_month.get(month_value, 0) + int(count)
    n_comments = sum(per_month.values())
    theme_rows = {t.theme_id: t for t in db.session.scalars(
        sa.select(Theme).where(Theme.run_id == run["results_run_id"]))}
    words = {code: theme_rows[code].words or [] for code in per_theme if code in theme_rows}
    labels = theme_labels(run["results_run_id"], [facility.id] if restricted else None)
    if restricted:
        words = words_in_comments(run["results_run_id"], facility, fiscal_year, words)
    months = fiscal_year_months(fiscal_year)
    themes = []
    for code, by_month in per_theme.items():
        count = sum(by_month.values())
        theme = theme_rows.get(code)
        themes.append({
            "theme_id": code,
            "label": labels.get(code, code),
            "words": words.get(code, [])[:6],
            "count": count,
            "share": count / n_comments if n_comments else 0.0,
            "months": [{"month": m, "count": by_month.get(m, 0),
                        "share": (by_month.get(m, 0) / per_month[m]) if per_month.get(m) else None}
                       for m in months],
            "comments": representative_comments(run["results_run_id"], code, facility, fiscal_year,
                                                theme.representative_response_ids if theme else []),
        })
    themes.sort(key=lambda t: (-t["count"], t["theme_id"]))
    return {"themes": themes, "n_comments": n_comments}


def words_in_comments(run_id: int, facility: Facility, fiscal_year: int,
                      words: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keep of each theme's words those that occur in the facility's masked comments of that
    theme in the year (compared in search form, case-insensitively)."""
    codes = [code for code, listed in words.items() if listed]
    texts: dict[str, list[str]] = {}
    if codes:
        rows = db.session.execute(
            sa.select(ResponseTheme.theme_id, Response.comment_masked)
            .join(Response, Response.id == ResponseTheme.response_id)
            .where(ResponseTheme.run_id == run_id, ResponseTheme.theme_id.in_(codes),
                   Response.facility_id == facility.id, Response.fiscal_year == fiscal_year,
                   Response.comment_masked.is_not(None)))
        for code, text in rows:
            texts.setdefault(code, []).append(text.casefold())
    return {code: [word for word in listed
                   if any(search_form(word).casefold() in text for text in texts.get(code, ()))]
            for code, listed in words.items()}


def representative_comments(run_id: int, theme_id: str, facility: Facility, fiscal_year: int,
                            preferred_ids: list[int], limit: int = REPRESENTATIVE_COMMENTS) -> list[Response]:
    """Up to `limit` comments of this facility for a theme: the run's representatives first,
    then the best-scoring others (by the run's score), newest first on ties."""
    base = (
        sa.select(Response)
        .join(ResponseTheme, ResponseTheme.response_id == Response.id)
        .where(ResponseTheme.run_id == run_id, ResponseTheme.theme_id == theme_id,
               Response.facility_id == facility.id, Response.fiscal_year == fiscal_year,
               Response.comment.is_not(None), Response.comment != "")
    )
    chosen: list[Response] = []
    if preferred_ids:
        chosen = list(db.session.scalars(
            base.where(Response.id.in_(list(preferred_ids)[:200])).order_by(Response.id).limit(limit)))
    if len(chosen) < limit:
        others = db.session.scalars(
            base.where(Response.id.not_in([c.id for c in chosen]) if chosen else sa.true())
            .order_by(ResponseTheme.score.desc().nulls_last(), Response.submitted_at.desc())
            .limit(limit - len(chosen)))
        chosen.extend(others)
    return chosen


# ---------------------------------------------------------------------------- comments

@dataclass
class CommentFilters:
    theme_id: str | None = None
    month: str | None = None
    rating: int | None = None
    text: str | None = None
    page: int = 1
    # 「特になし」 and the like (the run's no-comment answers) are left out unless asked for.
    with_no_comment: bool = False
    channel: str | None = None  # a key of models.CHANNELS; None: every channel

    def query_args(self, **changes) -> dict:
        values = {"theme": self.theme_id, "month": self.month, "rating": self.rating,
                  "q": self.text, "all": 1 if self.with_no_comment else None, "channel": self.channel,
                  "page": self.page}
        values.update(changes)
        return {key: value for key, value in values.items()
                if value not in (None, "") and not (key == "page" and value == 1)}


@dataclass
class CommentPage:
    items: list
    total: int
    page: int
    pages: int
    per_page: int


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def comment_statement(facility: Facility, fiscal_year: int, filters: CommentFilters,
                      run_id: int | None):
    """SELECT of (Response, theme_id) for the facility's comments matching the filters."""
    theme_join = sa.and_(ResponseTheme.response_id == Response.id, ResponseTheme.run_id == run_id)
    statement = (
        sa.select(Response, ResponseTheme.theme_id)
        .outerjoin(ResponseTheme, theme_join)
        .where(Response.facility_id == facility.id, Response.fiscal_year == fiscal_year,
               Response.comment.is_not(None), Response.comment != "")
    )
    if filters.theme_id and run_id is not None:
        statement = statement.where(ResponseTheme.theme_id == filters.theme_id)
    if not filters.with_no_comment and run_id is not None:
        statement = statement.where(sa.or_(ResponseTheme.source.is_(None),
                                           ResponseTheme.source != "no_comment"))
    if filters.month:
        start, end = month_bounds_utc(filters.month)
        statement = statement.where(Response.submitted_at >= start, Response.submitted_at < end)
    if filters.rating:
        statement = statement.where(Response.satisfaction == filters.rating)
    if filters.channel:
        statement = statement.where(Response.channel == filters.channel)
    if filters.text:
        # The masked text only: matching the stored comment would let a reader recover a
        # masked phone number or name one character at a time.
        pattern = _like_pattern(search_form(filters.text))
        statement = statement.where(Response.comment_masked.ilike(pattern, escape="\\"))
    return statement


def search_comments(facility: Facility, fiscal_year: int, filters: CommentFilters,
                    run_id: int | None, per_page: int = COMMENTS_PER_PAGE) -> CommentPage:
    """One page of comments, newest first (SQL LIMIT/OFFSET), and the number of matches."""
    statement = comment_statement(facility, fiscal_year, filters, run_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(filters.page, 1), pages)
    rows = db.session.execute(
        statement.order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return CommentPage(items=[(response, code) for response, code in rows], total=total,
                       page=page, pages=pages, per_page=per_page)


def iter_comments(facility: Facility, fiscal_year: int, filters: CommentFilters,
                  run_id: int | None, batch: int = 1000):
    """Yield every (Response, theme_id) the comment filters match, newest first, in batches."""
    statement = (comment_statement(facility, fiscal_year, filters, run_id)
                 .order_by(Response.submitted_at.desc(), Response.id.desc()))
    offset = 0
    while True:
        rows = db.session.execute(statement.limit(batch).offset(offset)).all()
        yield from rows
        if len(rows) < batch:
            return
        offset += batch


def iter_responses(facility: Facility, fiscal_year: int, batch: int = 2000, channel: str | None = None):
    """Yield the facility's responses of a year in id order, `batch` rows per query (keyset)."""
    columns = (Response.id, Response.submitted_at, Response.fiscal_year, Response.satisfaction,
               Response.establishment, Response.respondent_group, Response.services, Response.comment,
               Response.channel, Response.sheet_number)
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(*columns)
            .where(Response.facility_id == facility.id, Response.fiscal_year == fiscal_year,
                   Response.id > last_id, *([Response.channel == channel] if channel else []))
            .order_by(Response.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
