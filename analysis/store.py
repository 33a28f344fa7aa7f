"""Read survey answers and store analysis runs with SQLAlchemy Core.

The tables are declared once in :mod:`survey_schema.models` (the web application's Alembic
migrations create them); this module uses those Table objects and never imports the
application or Flask. It works on SQLite and PostgreSQL alike and costs no reflection
round-trip.

Every public function takes an :class:`~sqlalchemy.engine.Engine` or a database URL.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from survey_schema.models import (AnalysisRun, Facility, Response, ResponseTheme, Theme,
                                  TextVector, ThemeMention)

from .satisfaction import COUNT_COLUMNS, TOP2, add_period_columns

__all__ = [
    "AGGREGATE_KEYS",
    "DatabaseVectorCache",
    "StoreError",
    "aggregate_counts",
    "extend_run",
    "fail_run",
    "get_engine",
    "iter_comments",
    "latest_run",
    "mention_counts",
    "read_centroids",
    "read_mentions",
    "read_responses",
    "read_runs",
    "read_theme_assignments",
    "read_themes",
    "save_run",
    "save_run_chunks",
    "start_run",
    "unclassified_counts",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
INSERT_CHUNK_SIZE = 5000
# Answers read per round trip by iter_comments: memory follows the distinct comments, not this.
READ_CHUNK_SIZE = 20_000
# Tokyo has no daylight saving time: the calendar month is that of UTC + 9 hours.
TOKYO_OFFSET_HOURS = 9

# The application's tables, declared once in survey_schema (no Flask).
facilities = Facility.__table__
responses = Response.__table__
analysis_runs = AnalysisRun.__table__
themes_table = Theme.__table__
response_themes = ResponseTheme.__table__
theme_mentions = ThemeMention.__table__
# Sentence vectors by (sha256 of the normalised text, model): see DatabaseVectorCache.
text_vectors = TextVector.__table__
REQUIRED_TABLES = ("facilities", "responses", "analysis_runs", "themes", "response_themes")
MENTION_TABLES = (*REQUIRED_TABLES, "theme_mentions")
POLARITIES = ("praise", "request")
# Why a response has its theme row: what assign_themes writes in `source`.
# Where a theme comes from: the catalog, discovery, or an analyst in the workbench (A01...).
THEME_SOURCES = ("catalog", "discovery", "analyst")
NO_THEME_SOURCES = ("no_comment", "unclassified")
# Why a response has its theme: a theme's source, an analyst's decision, or why it has none.
ASSIGNMENT_SOURCES = ("catalog", "discovery", "decision", *NO_THEME_SOURCES)
MENTION_COLUMNS = ("response_id", "facility_code", "fiscal_year", "month", "theme_id",
                   "theme_label", "polarity", "score", "span_start", "span_end", "rank",
                   "satisfaction")
MENTION_KEYS = ("facility_code", "fiscal_year", "month", "theme_id", "polarity")

RESPONSE_COLUMNS = ("response_id", "facility_code", "submitted_at", "fiscal_year", "satisfaction",
                    "establishment", "respondent_group", "services", "comment", "facility_name",
                    "prefecture", "operator_kind")
ASSIGNMENT_COLUMNS = ("response_id", "facility_code", "fiscal_year", "month", "theme_id",
                      "theme_label", "score", "source")
THEME_COLUMNS = ("run_id", "theme_id", "label", "source", "size", "words",
                 "representative_response_ids")
# Grouping keys aggregate_counts understands; facility attributes come from a join.
FACILITY_KEYS = {"facility_code": "code", "facility_name": "name", "prefecture": "prefecture",
                 "operator_kind": "operator_kind"}
AGGREGATE_KEYS = (*FACILITY_KEYS, "fiscal_year", "month", "respondent_group")


class StoreError(RuntimeError):
    """The database cannot be reached or lacks the survey tables; the message says which."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _set_sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine(url):
    """Return an engine for a database URL (an engine passes through unchanged).

    Parameters
    ----------
    url : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine
        ``postgres://`` and ``postgresql://`` URLs are given the psycopg 3 driver. SQLite
        connections get ``busy_timeout`` (wait for the tablets' writes instead of failing)
        and ``foreign_keys=ON``.

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    StoreError
        When the URL cannot be parsed or names an unknown driver.
    """
    if isinstance(url, Engine):
        return url
    if isinstance(url, sa.engine.URL):
        url = url.render_as_string(hide_password=False)
    text_url = _normalize_url(str(url))
    try:
        engine = sa.create_engine(text_url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        # Never echo the URL: it may hold a password.
        scheme = text_url.split("://", 1)[0] if "://" in text_url else None
        reason = f"unknown driver {scheme!r}" if isinstance(error, NoSuchModuleError) else (
            "expected e.g. postgresql://user@host/dbname or sqlite:///path/to/file.sqlite3")
        raise StoreError(f"bad database URL ({reason})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _missing_tables(engine: Engine, names: Iterable[str]) -> list[str]:
    try:
        inspector = sa.inspect(engine)
        return [name for name in names if not inspector.has_table(name)]
    except SQLAlchemyError:
        return []


def _wrap_error(engine: Engine, error: Exception, tables: Iterable[str]) -> StoreError:
    missing = _missing_tables(engine, tables)
    if missing:
        return StoreError(
            f"database {engine.url.render_as_string(hide_password=True)} has no table(s) "
            f"{', '.join(missing)}; create the schema first (flask --app survey_app db upgrade)")
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return StoreError(
        f"database {engine.url.render_as_string(hide_password=True)}: {detail}")


def _run_query(engine: Engine, statement, tables: Iterable[str]):
    """Execute a SELECT and return (column names, rows), translating database errors."""
    try:
        with engine.connect() as connection:
            result = connection.execute(statement)
            return list(result.keys()), result.fetchall()
    except DBAPIError as error:
        raise _wrap_error(engine, error, tables) from error


def _as_list(values) -> list | None:
    if values is None:
        return None
    if isinstance(values, (str, int, np.integer)):
        return [values]
    return list(values)


def read_responses(engine, fiscal_years=None, facility_codes=None):
    """Read survey responses with their facility.

    Parameters
    ----------
    engine : Engine or str
    fiscal_years : int or iterable of int, optional
        Keep only these fiscal years (年度).
    facility_codes : str or iterable of str, optional
        Keep only these facilities.

    Returns
    -------
    pandas.DataFrame
        One row per response, ordered by id: ``response_id``, ``facility_code``,
        ``submitted_at`` (naive UTC datetime64), ``fiscal_year``, ``satisfaction``,
        ``establishment``, ``respondent_group``, ``services`` (list), ``comment`` (str or
        None), ``facility_name``, ``prefecture``, ``operator_kind``.
    """
    engine = get_engine(engine)
    r, f = responses.c, facilities.c
    statement = (
        sa.select(
            r.id.label("response_id"), f.code.label("facility_code"), r.submitted_at,
            r.fiscal_year, r.satisfaction, r.establishment, r.respondent_group, r.services,
            r.comment, f.name.label("facility_name"), f.prefecture, f.operator_kind)
        .select_from(responses.join(facilities, f.id == r.facility_id))
        .order_by(r.id)
    )
    fiscal_years = _as_list(fiscal_years)
    facility_codes = _as_list(facility_codes)
    if fiscal_years is not None:
        statement = statement.where(r.fiscal_year.in_([int(y) for y in fiscal_years]))
    if facility_codes is not None:
        statement = statement.where(f.code.in_(facility_codes))
    keys, rows = _run_query(engine, statement, ("responses", "facilities"))
    frame = pd.DataFrame(rows, columns=keys)
    return _response_dtypes(frame)


def _response_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"])
    for column in ("response_id", "fiscal_year", "satisfaction", "establishment"):
        values = pd.to_numeric(frame[column])
        frame[column] = values.astype("Int64" if values.isna().any() else "int64")
    for column in ("facility_code", "respondent_group", "comment", "facility_name",
                   "prefecture", "operator_kind"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame["services"] = frame["services"].map(lambda v: list(v) if isinstance(v, list) else [])
    return frame


def iter_comments(engine, fiscal_years=None, after_response_id=None, chunk_size=READ_CHUNK_SIZE):
    """Yield the answers' masked comments chunk by chunk, ordered by id.

    Parameters
    ----------
    engine : Engine or str
    fiscal_years : int or iterable of int, optional
    after_response_id : int, optional
        Only answers with a greater id (those stored after an earlier run).
    chunk_size : int, default READ_CHUNK_SIZE
        Answers per chunk, fetched with a streaming cursor.

    Yields
    ------
    (numpy.ndarray of int64, list of str or None)
        Response ids and their comments as readers see them (``responses.comment_masked``;
        the comment itself where that was never filled in, for the caller to mask).
    """
    engine = get_engine(engine)
    r = responses.c
    comment = sa.case((r.comment_masked.is_not(None), r.comment_masked), else_=r.comment)
    statement = sa.select(r.id, comment.label("comment")).order_by(r.id)
    fiscal_years = _as_list(fiscal_years)
    if fiscal_years is not None:
        statement = statement.where(r.fiscal_year.in_([int(y) for y in fiscal_years]))
    if after_response_id is not None:
        statement = statement.where(r.id > int(after_response_id))
    try:
        with engine.connect() as connection:
            result = connection.execution_options(yield_per=int(chunk_size)).execute(statement)
            for partition in result.partitions():
                ids = np.fromiter((row[0] for row in partition), dtype=np.int64, count=len(partition))
                yield ids, [row[1] for row in partition]
    except DBAPIError as error:
        raise _wrap_error(engine, error, ("responses",)) from error


def _month_expression(engine: Engine, column):
    """"YYYY-MM" of a naive UTC column on the Tokyo calendar, with inline constants so the
    SELECT and GROUP BY expressions are textually identical."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return sa.func.strftime(sa.literal_column("'%Y-%m'"), column,
                                sa.literal_column(f"'+{TOKYO_OFFSET_HOURS} hours'"))
    if dialect == "postgresql":
        shifted = column + sa.literal_column(f"interval '{TOKYO_OFFSET_HOURS} hours'", sa.Interval)
        return sa.func.to_char(shifted, sa.literal_column("'YYYY-MM'"))
    raise StoreError(f"grouping by month is not implemented for {dialect}")


def _top2_count(column):
    return sa.func.coalesce(
        sa.func.sum(sa.case((column.in_(TOP2), 1), else_=0)), 0)


def aggregate_counts(engine, by=("facility_code", "fiscal_year"), fiscal_years=None,
                     facility_codes=None, prefecture=None, operator_kind=None):
    """Count answers and top-2 answers per group in the database (one GROUP BY query).

    Parameters
    ----------
    engine : Engine or str
    by : str or sequence of str, default ("facility_code", "fiscal_year")
        Any of ``facility_code``, ``facility_name``, ``prefecture``, ``operator_kind``,
        ``fiscal_year``, ``month`` ("YYYY-MM" on the Tokyo calendar) and
        ``respondent_group``; empty for national totals.
    fiscal_years : int or iterable of int, optional
    facility_codes : str or iterable of str, optional
    prefecture : str or iterable of str, optional
        e.g. "青森県".
    operator_kind : str or iterable of str, optional
        "prefecture" or "municipal".

    Returns
    -------
    pandas.DataFrame
        The same columns and dtypes as :func:`analysis.satisfaction.count_answers`: the `by`
        columns, ``n``, ``satisfied``, ``n_establishment``, ``establishment_approved``.

    Notes
    -----
    Responses are grouped by ``facility_id`` (and the other keys) first, filtered on
    ``facility_id``/``fiscal_year`` so the index ``ix_responses_facility_fiscal_year``
    applies; facility attributes are joined to the (small) grouped result afterwards.
    """
    engine = get_engine(engine)
    by = [by] if isinstance(by, str) else list(by or ())
    unknown = [key for key in by if key not in AGGREGATE_KEYS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {list(AGGREGATE_KEYS)}")
    r, f = responses.c, facilities.c
    facility_keys = [key for key in by if key in FACILITY_KEYS]
    response_keys = {
        "fiscal_year": r.fiscal_year,
        "respondent_group": r.respondent_group,
    }
    if "month" in by:
        response_keys["month"] = _month_expression(engine, r.submitted_at)
    inner_keys = [response_keys[key].label(key) for key in by if key not in FACILITY_KEYS]
    if facility_keys:
        inner_keys.insert(0, r.facility_id.label("facility_id"))
    inner = sa.select(
        *inner_keys,
        sa.func.count(r.satisfaction).label("n"),
        _top2_count(r.satisfaction).label("satisfied"),
        sa.func.count(r.establishment).label("n_establishment"),
        _top2_count(r.establishment).label("establishment_approved"),
    ).select_from(responses)
    fiscal_years = _as_list(fiscal_years)
    if fiscal_years is not None:
        inner = inner.where(r.fiscal_year.in_([int(y) for y in fiscal_years]))
    facility_filters = []
    for column, values in ((f.code, facility_codes), (f.prefecture, prefecture),
                           (f.operator_kind, operator_kind)):
        values = _as_list(values)
        if values is not None:
            facility_filters.append(column.in_(values))
    if facility_filters:
        inner = inner.where(r.facility_id.in_(sa.select(f.id).where(*facility_filters)))
    if inner_keys:
        inner = inner.group_by(*[key.element if hasattr(key, "element") else key
                                 for key in inner_keys])
    statement = inner
    if facility_keys:
        grouped = inner.subquery("grouped")
        g = grouped.c
        outer_keys = []
        for key in by:
            if key in FACILITY_KEYS:
                outer_keys.append(getattr(f, FACILITY_KEYS[key]).label(key))
            else:
                outer_keys.append(g[key].label(key))
        statement = (
            sa.select(*outer_keys,
                      *[sa.func.sum(g[c]).label(c) for c in COUNT_COLUMNS])
            .select_from(grouped.join(facilities, f.id == g.facility_id))
            .group_by(*[key.element for key in outer_keys])
        )
    keys, rows = _run_query(engine, statement, ("responses", "facilities"))
    counts = pd.DataFrame(rows, columns=keys)
    return _counts_dtypes(counts, by)


def _counts_dtypes(counts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    for column in COUNT_COLUMNS:
        counts[column] = pd.to_numeric(counts[column]).fillna(0).astype("int64")
    for column in by:
        if column == "fiscal_year":
            values = pd.to_numeric(counts[column])
            counts[column] = values.astype("Int64" if values.isna().any() else "int64")
        else:
            counts[column] = counts[column].astype(object).where(counts[column].notna(), None)
    if by:
        counts = counts.sort_values(by, na_position="last")
    return counts[[*by, *COUNT_COLUMNS]].reset_index(drop=True)


# --- analysis runs -----------------------------------------------------------------------


def _jsonable(value):
    """Make parameters/versions JSON-safe (numpy scalars, paths, tuples)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def start_run(engine, parameters=None, versions=None, catalog_version=None):
    """Record a run as ``running`` (committed at once, so a crash leaves a trace).

    Parameters
    ----------
    engine : Engine or str
    parameters, versions : dict, optional
        Stored as JSON.
    catalog_version : str, optional

    Returns
    -------
    int
        The new ``analysis_runs.id``.
    """
    engine = get_engine(engine)
    statement = (
        analysis_runs.insert()
        .values(started_at=_utcnow(), status="running", parameters=_jsonable(parameters or {}),
                versions=_jsonable(versions or {}), catalog_version=catalog_version,
                n_responses=0, n_comments=0, n_themes=0)
        .returning(analysis_runs.c.id)
    )
    try:
        with engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())
    except DBAPIError as error:
        raise _wrap_error(engine, error, ("analysis_runs",)) from error


def _fail_and_raise(engine, run_id: int, error: BaseException):
    """Mark the run failed (best effort) and re-raise `error`, a database error as StoreError."""
    try:
        fail_run(engine, run_id)
    except SQLAlchemyError:
        pass
    if isinstance(error, DBAPIError):
        raise _wrap_error(engine, error, MENTION_TABLES) from error
    raise error


def fail_run(engine, run_id):
    """Mark a run as ``failed`` with its finishing time, and drop the rows it wrote so far."""
    engine = get_engine(engine)
    with engine.begin() as connection:
        for table in (theme_mentions, response_themes, themes_table):
            connection.execute(table.delete().where(table.c.run_id == run_id))
        connection.execute(
            analysis_runs.update().where(analysis_runs.c.id == run_id)
            .values(status="failed", finished_at=_utcnow()))


def _none_if_missing(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str) and value == "":
        return None
    return value


def _list_or_empty(value) -> list:
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [_jsonable(v) for v in value]
    return []


def _assignment_rows(run_id: int, assignments: pd.DataFrame) -> list[dict]:
    missing = [c for c in ("response_id", "theme_id", "source") if c not in assignments.columns]
    if missing:
        raise ValueError(f"assignments lack column(s): {', '.join(missing)} "
                         "(assign_themes' assignments have them)")
    if assignments["response_id"].duplicated().any():
        raise ValueError("assignments hold several rows for one response_id")
    # Plain lists: pandas would turn None back into NaN in a string column.
    codes = [_none_if_missing(value) for value in assignments["theme_id"]]
    sources = [_none_if_missing(value) for value in assignments["source"]]
    for code, source in zip(codes, sources):
        # The pipeline says why a comment has no theme: a guess would file 未分類 content as
        # "no comment", and it would vanish from every count.
        if source not in ASSIGNMENT_SOURCES:
            raise ValueError(f"assignment source {source!r} is not one of {list(ASSIGNMENT_SOURCES)}")
        if (code is None) != (source in NO_THEME_SOURCES):
            raise ValueError(f"an assignment with source {source!r} "
                             + ("needs a theme_id" if code is None else f"has theme_id {code!r}"))
    if "score" in assignments.columns:
        scores = pd.to_numeric(assignments["score"], errors="coerce")
    else:
        scores = pd.Series(np.nan, index=assignments.index)
    return [
        {"run_id": run_id, "response_id": int(response_id), "theme_id": code,
         "score": None if pd.isna(score) else float(score), "source": source}
        for response_id, code, score, source in zip(
            assignments["response_id"], codes, scores, sources)
    ]


def _mention_rows(run_id: int, mentions: pd.DataFrame, assignment_rows: list[dict]) -> list[dict]:
    """Rows of ``theme_mentions``: `row` is a position in the assignments (the responses the
    run read, in order), so it names the response without matching texts."""
    needed = ("row", "theme_id", "polarity", "span_start", "span_end")
    missing = [c for c in needed if c not in mentions.columns]
    if missing:
        raise ValueError(f"mentions lack column(s): {', '.join(missing)}")
    if mentions.empty:
        return []
    positions = pd.to_numeric(mentions["row"], errors="coerce")
    bad = positions.isna() | (positions < 0) | (positions >= len(assignment_rows))
    if bad.any():
        raise ValueError(f"mentions name row(s) outside the {len(assignment_rows)} responses, "
                         f"e.g. {mentions.loc[bad, 'row'].iloc[0]!r}")
    codes = [_none_if_missing(value) for value in mentions["theme_id"]]
    if any(code is None for code in codes):
        raise ValueError("mentions hold a row without theme_id")
    polarities = [str(value) for value in mentions["polarity"]]
    unknown = sorted(set(polarities) - set(POLARITIES))
    if unknown:
        raise ValueError(f"unknown polarity {unknown[0]!r}; expected one of {list(POLARITIES)}")
    starts = pd.to_numeric(mentions["span_start"], errors="coerce")
    ends = pd.to_numeric(mentions["span_end"], errors="coerce")
    if (starts.isna() | ends.isna() | (starts < 0) | (ends < starts)).any():
        raise ValueError("mentions hold a span that is not 0 <= span_start <= span_end")
    scores = (pd.to_numeric(mentions["score"], errors="coerce") if "score" in mentions.columns
              else pd.Series(np.nan, index=mentions.index))
    ranks = (pd.to_numeric(mentions["rank"], errors="coerce") if "rank" in mentions.columns
             else mentions.groupby(positions).cumcount())
    rows, seen = [], set()
    for position, code, polarity, score, start, end, rank in zip(
            positions.astype(int), codes, polarities, scores, starts, ends, ranks):
        response_id = assignment_rows[position]["response_id"]
        key = (response_id, str(code))
        if key in seen:
            raise ValueError(f"mentions hold theme {code} twice for row {position}; "
                             "one mention per comment and theme")
        seen.add(key)
        rows.append({"run_id": run_id, "response_id": response_id, "theme_id": str(code),
                     "polarity": polarity, "score": None if pd.isna(score) else float(score),
                     "span_start": int(start), "span_end": int(end),
                     "rank": 0 if pd.isna(rank) else int(rank)})
    return rows


class _Tally:
    """What a run's rows add up to, chunk by chunk: answers, comments, the last answer, each
    theme's answers and the themes mentioned (all of which the themes frame must list)."""

    def __init__(self):
        self.n_responses = self.n_comments = 0
        self.last_response_id = None
        self.sizes: dict[str, int] = {}
        self.mentioned: set[str] = set()

    def add(self, assignment_rows, mention_rows):
        self.n_responses += len(assignment_rows)
        for row in assignment_rows:
            if row["source"] != "no_comment":
                self.n_comments += 1
            if row["theme_id"] is not None:
                self.sizes[row["theme_id"]] = self.sizes.get(row["theme_id"], 0) + 1
        if assignment_rows:
            last = max(row["response_id"] for row in assignment_rows)
            self.last_response_id = max(last, self.last_response_id or last)
        # A theme met only as a second point of some comments is a theme of the run too.
        self.mentioned.update(row["theme_id"] for row in mention_rows)


def _theme_rows(run_id: int, themes: pd.DataFrame | None, tally: _Tally) -> list[dict]:
    """Rows of ``themes``: one per theme of `themes`, its source as the pipeline gave it (a
    code's first letter says nothing: a catalog may hold a promoted D03). Every theme the
    assignments or mentions name must be there; the 未分類 row (no theme_id) is no theme."""
    if themes is None:
        themes = _empty_frame(("theme_id", "source"))
    missing = [c for c in ("theme_id", "source") if c not in themes.columns]
    if missing:
        raise ValueError(f"themes lack column(s): {', '.join(missing)} "
                         "(assign_themes' themes have them)")
    sizes = tally.sizes
    rows, seen = [], set()
    for record in themes.to_dict("records"):
        code = _none_if_missing(record.get("theme_id"))
        if code is None or str(code) in seen:
            continue
        code = str(code)
        seen.add(code)
        source = _none_if_missing(record.get("source"))
        if source not in THEME_SOURCES:
            raise ValueError(f"theme {code} has source {source!r}, not one of {list(THEME_SOURCES)}")
        size = record.get("size")
        centroid = record.get("centroid")
        rows.append({
            "run_id": run_id,
            "theme_id": code,
            "label": str(_none_if_missing(record.get("label", record.get("theme_label")))
                         or code)[:200],
            "source": source,
            "size": int(size) if size is not None and not pd.isna(size) else sizes.get(code, 0),
            "words": _list_or_empty(record.get("words")),
            "representative_response_ids": [
                int(v) for v in _list_or_empty(record.get("representative_response_ids"))],
            "centroid": _jsonable(centroid) if isinstance(centroid, Mapping) else None,
        })
    absent = sorted((set(sizes) | tally.mentioned) - seen)
    if absent:
        raise ValueError(f"themes lack theme(s) that assignments or mentions name: "
                         f"{', '.join(absent[:5])}")
    return rows


def _chunks(rows: list, size: int):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _insert_chunk(connection, run_id, assignments, mentions, tally) -> int:
    """Insert one chunk's response_themes and theme_mentions rows; return its answers."""
    assignment_rows = _assignment_rows(run_id, assignments)
    mention_rows = [] if mentions is None else _mention_rows(run_id, mentions, assignment_rows)
    tally.add(assignment_rows, mention_rows)
    for rows in _chunks(assignment_rows, INSERT_CHUNK_SIZE):
        connection.execute(response_themes.insert(), rows)
    for rows in _chunks(mention_rows, INSERT_CHUNK_SIZE):
        connection.execute(theme_mentions.insert(), rows)
    return len(assignment_rows)


def _run_values(parameters, versions, catalog_version, **values) -> dict:
    values = {"status": "complete", "finished_at": _utcnow(), **values}
    if parameters is not None:
        values["parameters"] = _jsonable(parameters)
    if versions is not None:
        values["versions"] = _jsonable(versions)
    if catalog_version is not None:
        values["catalog_version"] = catalog_version
    return values


def _delete_other_runs(engine, run_id, last_response_id):
    """Delete the theme rows of every other run, a range of answers per transaction, so that
    tablets writing meanwhile never wait long for the database."""
    with engine.connect() as connection:
        # Run ids, not run_id != …: the primary keys start with run_id.
        others = connection.execute(
            sa.select(analysis_runs.c.id).where(analysis_runs.c.id != run_id)).scalars().all()
    if not others:
        return
    for table in (theme_mentions, response_themes):
        start = 0
        while start <= (last_response_id or 0):
            with engine.begin() as connection:
                connection.execute(table.delete().where(
                    table.c.run_id.in_(others), table.c.response_id >= start,
                    table.c.response_id < start + READ_CHUNK_SIZE))
            start += READ_CHUNK_SIZE
        with engine.begin() as connection:  # answers stored after this run read them
            connection.execute(table.delete().where(table.c.run_id.in_(others)))


def save_run_chunks(engine, chunks, themes, parameters=None, versions=None, catalog_version=None,
                    run_id=None, progress=None):
    """Store a complete run whose rows come chunk by chunk (memory: one chunk).

    Each chunk is written in its own transaction under a run still marked ``running``, which
    no reader reads; then one transaction writes the themes and marks the run ``complete``,
    and the theme rows of every other run are deleted (a range of answers at a time), so each
    answer keeps one current theme row. The ``analysis_runs`` rows stay as history. On
    failure the run is marked ``failed``, its rows deleted and the error re-raised.

    Parameters
    ----------
    engine : Engine or str
    chunks : iterable of (pandas.DataFrame, pandas.DataFrame or None)
        ``(assignments, mentions)`` as in :func:`save_run`, mention rows naming positions in
        their own chunk's assignments; no answer in two chunks.
    themes : pandas.DataFrame, callable or None
        As in :func:`save_run` (plus an optional ``centroid`` dict per discovered theme), or a
        callable returning it, called after the last chunk.
    parameters, versions, catalog_version, run_id, progress
        As in :func:`save_run`.

    Returns
    -------
    int
        The run id.
    """
    engine = get_engine(engine)
    if run_id is None:
        run_id = start_run(engine, parameters, versions, catalog_version)
    tally = _Tally()
    try:
        for assignments, mentions in chunks:
            with engine.begin() as connection:
                written = _insert_chunk(connection, run_id, assignments, mentions, tally)
            if progress is not None:
                progress(written)
        theme_frame = themes() if callable(themes) else themes
        theme_rows = _theme_rows(run_id, theme_frame, tally)
        values = _run_values(parameters, versions, catalog_version,
                             n_responses=tally.n_responses, n_comments=tally.n_comments,
                             n_themes=len(theme_rows), last_response_id=tally.last_response_id,
                             results_run_id=None)
        with engine.begin() as connection:
            if theme_rows:
                connection.execute(themes_table.insert(), theme_rows)
            connection.execute(
                analysis_runs.update().where(analysis_runs.c.id == run_id).values(**values))
            connection.execute(themes_table.delete().where(themes_table.c.run_id != run_id))
    except BaseException as error:
        _fail_and_raise(engine, run_id, error)
    try:
        _delete_other_runs(engine, run_id, tally.last_response_id)
    except DBAPIError as error:
        raise _wrap_error(engine, error, MENTION_TABLES) from error
    return run_id


def save_run(engine, assignments, themes, parameters=None, versions=None, catalog_version=None,
             run_id=None, progress=None, *, mentions=None):
    """Store the themes of every response as a new, complete run.

    Writes ``themes``, ``response_themes`` and ``theme_mentions`` in bulk and marks the run
    ``complete`` (see :func:`save_run_chunks`, of which this is the one-chunk case), then
    deletes those rows of every other run, so each response has exactly one current theme
    row; the ``analysis_runs`` rows stay as history. On failure the run is marked ``failed``
    and the error re-raised: a ValueError when a frame lacks a column or a theme's source,
    which is never guessed.

    Parameters
    ----------
    engine : Engine or str
    assignments : pandas.DataFrame
        One row per response: ``response_id``, ``theme_id``, ``score`` and ``source``:
        "catalog" or "discovery" with a theme_id, "no_comment" or "unclassified" (未分類,
        content no theme covers) without one.
    themes : pandas.DataFrame or None
        One row per theme (``assign_themes``' themes frame): ``theme_id``, ``label``,
        ``source`` ("catalog" or "discovery"), ``size``, ``words`` (list),
        ``representative_response_ids`` (list of int). Every theme the assignments or
        mentions name must be listed; a row without theme_id (未分類) is skipped. None only
        when no response has a theme.
    parameters, versions : dict, optional
        Stored as JSON on the run.
    catalog_version : str, optional
    run_id : int, optional
        A run created earlier with :func:`start_run`; a new one is created when omitted.
    progress : callable, optional
        Called with the number of response rows written after each chunk (e.g. tqdm.update).
    mentions : pandas.DataFrame, optional
        Every point each comment makes (``assign_themes``' third frame): ``row`` (position in
        `assignments`, whose ``response_id`` it takes), ``theme_id``, ``polarity``
        ("praise" or "request"), ``score``, ``span_start``, ``span_end`` (offsets into
        ``analysis.text.normalize`` of the masked comment the pipeline read) and ``rank``
        (0 = main point). At most one row per comment and theme. Omitted: the run stores
        no mentions, and the reports say so.

    Returns
    -------
    int
        The run id.
    """
    return save_run_chunks(engine, [(assignments, mentions)], themes, parameters, versions,
                           catalog_version, run_id, progress)


def extend_run(engine, base_run, chunks, themes, parameters=None, versions=None,
               catalog_version=None, run_id=None, progress=None):
    """Store an incremental run: the results of `base_run` plus the answers in `chunks`.

    The new run references the base run's results instead of copying them: its rows are
    added to those of the run that holds the base run's results (``results_run_id``), in
    one transaction, and the new run records that run as its own ``results_run_id``, so
    readers of the latest run see every answer. Theme sizes grow by the new answers; themes
    new to the results get their row.

    Parameters
    ----------
    engine : Engine or str
    base_run : dict
        The run extended, as returned by :func:`latest_run`.
    chunks, themes, parameters, versions, catalog_version, run_id, progress
        As in :func:`save_run_chunks`; `themes` sizes count the new answers only.

    Returns
    -------
    int
        The new run's id.
    """
    engine = get_engine(engine)
    if run_id is None:
        run_id = start_run(engine, parameters, versions, catalog_version)
    results_id = base_run["results_run_id"]
    tally = _Tally()
    try:
        with engine.begin() as connection:
            for assignments, mentions in chunks:
                written = _insert_chunk(connection, results_id, assignments, mentions, tally)
                if progress is not None:
                    progress(written)
            theme_frame = themes() if callable(themes) else themes
            t = themes_table.c
            stored = {row.theme_id: row.size for row in connection.execute(
                sa.select(t.theme_id, t.size).where(t.run_id == results_id))}
            for row in _theme_rows(results_id, theme_frame, tally):
                if row["theme_id"] in stored:
                    if row["size"]:
                        connection.execute(themes_table.update().where(
                            t.run_id == results_id, t.theme_id == row["theme_id"]).values(
                            size=stored[row["theme_id"]] + row["size"]))
                else:
                    connection.execute(themes_table.insert(), [row])
                    stored[row["theme_id"]] = row["size"]
            values = _run_values(
                parameters, versions, catalog_version,
                n_responses=(base_run["n_responses"] or 0) + tally.n_responses,
                n_comments=(base_run["n_comments"] or 0) + tally.n_comments,
                n_themes=len(stored), results_run_id=results_id,
                last_response_id=tally.last_response_id or base_run["last_response_id"])
            connection.execute(
                analysis_runs.update().where(analysis_runs.c.id == run_id).values(**values))
    except BaseException as error:
        _fail_and_raise(engine, run_id, error)
    return run_id


def _run_dict(keys, row) -> dict:
    run = dict(zip(keys, row))
    for key in ("started_at", "finished_at"):
        if isinstance(run.get(key), str):
            run[key] = datetime.fromisoformat(run[key])
    # Where this run's theme rows are: its own, or those of the run it extended.
    run["results_run_id"] = run.get("results_run_id") or run["id"]
    return run


def latest_run(engine, status="complete"):
    """Return the most recently finished run with `status`, as a dict, or None.

    Parameters
    ----------
    engine : Engine or str
    status : str or None, default "complete"
        None for the latest run whatever its status (by id).

    Returns
    -------
    dict or None
        Keys: id, started_at, finished_at, status, parameters, versions, catalog_version,
        n_responses, n_comments, n_themes, last_response_id (the last answer it themed) and
        results_run_id: the run whose ``themes``, ``response_themes`` and ``theme_mentions``
        rows hold its results (its own id, or for an incremental run that of the run it
        extended); readers query those rows with it.
    """
    engine = get_engine(engine)
    c = analysis_runs.c
    statement = sa.select(*analysis_runs.c)
    if status is not None:
        statement = statement.where(c.status == status).order_by(
            c.finished_at.desc(), c.id.desc())
    else:
        statement = statement.order_by(c.id.desc())
    keys, rows = _run_query(engine, statement.limit(1), ("analysis_runs",))
    return _run_dict(keys, rows[0]) if rows else None


def read_runs(engine):
    """Return every run (the history), newest first, as a DataFrame."""
    engine = get_engine(engine)
    statement = sa.select(*analysis_runs.c).order_by(analysis_runs.c.id.desc())
    keys, rows = _run_query(engine, statement, ("analysis_runs",))
    return pd.DataFrame(rows, columns=keys)


def _resolve_run_id(engine, run_id):
    """The run whose theme rows hold `run_id`'s results (the latest complete run's when None)."""
    if run_id is not None:
        c = analysis_runs.c
        _keys, rows = _run_query(
            engine, sa.select(c.results_run_id).where(c.id == int(run_id)), ("analysis_runs",))
        return int(rows[0][0]) if rows and rows[0][0] is not None else int(run_id)
    run = latest_run(engine)
    return None if run is None else run["results_run_id"]


def read_theme_assignments(engine, run_id=None):
    """Return the theme of each response for a run (the latest complete run by default).

    Parameters
    ----------
    engine : Engine or str
    run_id : int, optional

    Returns
    -------
    pandas.DataFrame
        ``response_id``, ``facility_code``, ``fiscal_year``, ``month`` ("YYYY-MM", Tokyo),
        ``theme_id`` (None for no comment), ``theme_label``, ``score``, ``source``; empty
        when there is no run.
    """
    engine = get_engine(engine)
    run_id = _resolve_run_id(engine, run_id)
    if run_id is None:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in ASSIGNMENT_COLUMNS})
    rt, r, f, t = response_themes.c, responses.c, facilities.c, themes_table.c
    statement = (
        sa.select(rt.response_id, f.code.label("facility_code"), r.fiscal_year, r.submitted_at,
                  rt.theme_id, t.label.label("theme_label"), rt.score,
                  rt.source)
        .select_from(
            response_themes
            .join(responses, r.id == rt.response_id)
            .join(facilities, f.id == r.facility_id)
            .outerjoin(themes_table, sa.and_(t.run_id == rt.run_id, t.theme_id == rt.theme_id)))
        .where(rt.run_id == run_id)
        .order_by(rt.response_id)
    )
    keys, rows = _run_query(engine, statement, REQUIRED_TABLES)
    frame = pd.DataFrame(rows, columns=keys)
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"])
    frame = add_period_columns(frame)
    frame["score"] = pd.to_numeric(frame["score"]).astype(float)
    for column in ("response_id", "fiscal_year"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    for column in ("facility_code", "theme_id", "theme_label", "source"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame[list(ASSIGNMENT_COLUMNS)]


def read_themes(engine, run_id=None):
    """Return the themes of a run (the latest complete run by default), largest first.

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``theme_id``, ``label``, ``source``, ``size``, ``words`` (list),
        ``representative_response_ids`` (list of int).
    """
    engine = get_engine(engine)
    run_id = _resolve_run_id(engine, run_id)
    if run_id is None:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in THEME_COLUMNS})
    t = themes_table.c
    statement = (
        sa.select(t.run_id, t.theme_id, t.label, t.source, t.size, t.words,
                  t.representative_response_ids)
        .where(t.run_id == run_id)
        .order_by(t.size.desc(), t.theme_id)
    )
    keys, rows = _run_query(engine, statement, ("themes",))
    frame = pd.DataFrame(rows, columns=keys)
    for column in ("words", "representative_response_ids"):
        frame[column] = frame[column].map(lambda v: list(v) if isinstance(v, list) else [])
    return frame[list(THEME_COLUMNS)]


def read_centroids(engine, run_id=None):
    """Return the discovered themes of a run that have a centroid (see analysis.centroids).

    Returns
    -------
    dict
        ``{theme_id: {"label": str, "centroid": dict}}``; empty for runs before centroids.
    """
    engine = get_engine(engine)
    run_id = _resolve_run_id(engine, run_id)
    if run_id is None:
        return {}
    t = themes_table.c
    statement = (sa.select(t.theme_id, t.label, t.centroid)
                 .where(t.run_id == run_id, t.source == "discovery", t.centroid.is_not(None))
                 .order_by(t.theme_id))
    _keys, rows = _run_query(engine, statement, ("themes",))
    return {code: {"label": label, "centroid": centroid} for code, label, centroid in rows
            if isinstance(centroid, dict)}


# --- theme mentions ----------------------------------------------------------------------


def _empty_frame(columns) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})


def _facility_filter(statement, facility_column, facility_codes):
    facility_codes = _as_list(facility_codes)
    if facility_codes is None:
        return statement
    f = facilities.c
    return statement.where(facility_column.in_(sa.select(f.id).where(f.code.in_(facility_codes))))


def read_mentions(engine, run_id=None, fiscal_years=None, facility_codes=None):
    """Return every theme mention of a run (the latest complete run by default), tidy.

    Parameters
    ----------
    engine : Engine or str
    run_id : int, optional
    fiscal_years : int or iterable of int, optional
    facility_codes : str or iterable of str, optional

    Returns
    -------
    pandas.DataFrame
        One row per mention, ordered by response and rank: ``response_id``,
        ``facility_code``, ``fiscal_year``, ``month`` ("YYYY-MM", Asia/Tokyo), ``theme_id``,
        ``theme_label``, ``polarity`` ("praise"/"request"), ``score``, ``span_start``,
        ``span_end`` (offsets into ``analysis.text.normalize`` of the masked comment; see
        :func:`analysis.masking.masked_span`), ``rank`` (0 = main point) and the answer's
        ``satisfaction`` (1–4). Empty when there is no run or the run stored no mentions.
    """
    engine = get_engine(engine)
    run_id = _resolve_run_id(engine, run_id)
    if run_id is None:
        return _empty_frame(MENTION_COLUMNS)
    tm, r, f, t = theme_mentions.c, responses.c, facilities.c, themes_table.c
    statement = (
        sa.select(tm.response_id, f.code.label("facility_code"), r.fiscal_year, r.submitted_at,
                  tm.theme_id, t.label.label("theme_label"), tm.polarity,
                  tm.score, tm.span_start, tm.span_end, tm.rank, r.satisfaction)
        .select_from(
            theme_mentions
            .join(responses, r.id == tm.response_id)
            .join(facilities, f.id == r.facility_id)
            .outerjoin(themes_table, sa.and_(t.run_id == tm.run_id, t.theme_id == tm.theme_id)))
        .where(tm.run_id == run_id)
        .order_by(tm.response_id, tm.rank, tm.theme_id)
    )
    fiscal_years = _as_list(fiscal_years)
    if fiscal_years is not None:
        statement = statement.where(r.fiscal_year.in_([int(y) for y in fiscal_years]))
    statement = _facility_filter(statement, r.facility_id, facility_codes)
    keys, rows = _run_query(engine, statement, MENTION_TABLES)
    if not rows:
        return _empty_frame(MENTION_COLUMNS)
    frame = pd.DataFrame(rows, columns=keys)
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"])
    frame = add_period_columns(frame)
    frame["score"] = pd.to_numeric(frame["score"]).astype(float)
    for column in ("response_id", "fiscal_year", "span_start", "span_end", "rank",
                   "satisfaction"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    for column in ("facility_code", "theme_id", "theme_label", "polarity"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame[list(MENTION_COLUMNS)]


def mention_counts(engine, run_id=None, by=("theme_id", "polarity"), fiscal_years=None,
                   facility_codes=None):
    """Count the respondents who mention each theme, and their answers (one GROUP BY query).

    Parameters
    ----------
    engine : Engine or str
    run_id : int, optional
        The latest complete run by default.
    by : sequence of str, default ("theme_id", "polarity")
        ``theme_id`` and any of ``facility_code``, ``fiscal_year``, ``month`` (Tokyo) and
        ``polarity``. A comment mentions a theme at most once, so every count is of people.
    fiscal_years, facility_codes : optional
        As in :func:`aggregate_counts`.

    Returns
    -------
    pandas.DataFrame
        The `by` columns, ``respondents`` and the count columns of :func:`aggregate_counts`
        (``n``, ``satisfied``, ``n_establishment``, ``establishment_approved``) of those
        respondents, ready for :func:`analysis.satisfaction.rates_from_counts`.
    """
    engine = get_engine(engine)
    by = [by] if isinstance(by, str) else list(by)
    unknown = [key for key in by if key not in MENTION_KEYS]
    if unknown or "theme_id" not in by:
        raise ValueError(f"mention counts group by theme_id and any of {list(MENTION_KEYS)}, "
                         f"not {by}")
    columns = [*by, "respondents", *COUNT_COLUMNS]
    run_id = _resolve_run_id(engine, run_id)
    if run_id is None:
        return _empty_frame(columns)
    tm, r, f = theme_mentions.c, responses.c, facilities.c
    keys = {"facility_code": f.code, "fiscal_year": r.fiscal_year, "theme_id": tm.theme_id,
            "polarity": tm.polarity}
    if "month" in by:
        keys["month"] = _month_expression(engine, r.submitted_at)
    labelled = [keys[key].label(key) for key in by]
    source = theme_mentions.join(responses, r.id == tm.response_id)
    if "facility_code" in by:
        source = source.join(facilities, f.id == r.facility_id)
    statement = (
        sa.select(*labelled, sa.func.count().label("respondents"),
                  sa.func.count(r.satisfaction).label("n"),
                  _top2_count(r.satisfaction).label("satisfied"),
                  sa.func.count(r.establishment).label("n_establishment"),
                  _top2_count(r.establishment).label("establishment_approved"))
        .select_from(source)
        .where(tm.run_id == run_id)
        .group_by(*[keys[key] for key in by])
    )
    fiscal_years = _as_list(fiscal_years)
    if fiscal_years is not None:
        statement = statement.where(r.fiscal_year.in_([int(y) for y in fiscal_years]))
    statement = _facility_filter(statement, r.facility_id, facility_codes)
    names, rows = _run_query(engine, statement, MENTION_TABLES)
    counts = pd.DataFrame(rows, columns=names)
    if counts.empty:
        return _empty_frame(columns)
    counts["respondents"] = pd.to_numeric(counts["respondents"]).astype("int64")
    # The group keys are unique, so sorting the frame with its respondents column first gives
    # the same order _counts_dtypes gives the others.
    counts = counts.sort_values(by).reset_index(drop=True)
    respondents = counts["respondents"]
    return _counts_dtypes(counts, by).assign(respondents=respondents)[columns]


def unclassified_counts(engine, run_id=None, by=("facility_code",), fiscal_years=None,
                        facility_codes=None):
    """Count the comments with content that a run placed in no theme (「未分類」).

    Parameters
    ----------
    engine : Engine or str
    run_id : int, optional
        The latest complete run by default.
    by : sequence of str, default ("facility_code",)
        Any of ``facility_code`` and ``fiscal_year``; empty for one total.
    fiscal_years, facility_codes : optional

    Returns
    -------
    pandas.DataFrame
        The `by` columns and ``unclassified``: responses whose theme row has no theme and is
        not a no-comment answer (source "unclassified", or "unassigned" in older runs).
    """
    engine = get_engine(engine)
    by = [by] if isinstance(by, str) else list(by or ())
    unknown = [key for key in by if key not in ("facility_code", "fiscal_year")]
    if unknown:
        raise ValueError(f"cannot group unclassified comments by {unknown}")
    columns = [*by, "unclassified"]
    run_id = _resolve_run_id(engine, run_id)
    if run_id is None:
        return pd.DataFrame({column: pd.Series(dtype="int64") for column in columns})
    rt, r, f = response_themes.c, responses.c, facilities.c
    keys = {"facility_code": f.code, "fiscal_year": r.fiscal_year}
    source = response_themes.join(responses, r.id == rt.response_id)
    if "facility_code" in by:
        source = source.join(facilities, f.id == r.facility_id)
    statement = (
        sa.select(*[keys[key].label(key) for key in by], sa.func.count().label("unclassified"))
        .select_from(source)
        .where(rt.run_id == run_id, rt.theme_id.is_(None), rt.source != "no_comment")
    )
    if by:
        statement = statement.group_by(*[keys[key] for key in by])
    fiscal_years = _as_list(fiscal_years)
    if fiscal_years is not None:
        statement = statement.where(r.fiscal_year.in_([int(y) for y in fiscal_years]))
    statement = _facility_filter(statement, r.facility_id, facility_codes)
    names, rows = _run_query(engine, statement, REQUIRED_TABLES)
    counts = pd.DataFrame(rows, columns=names)
    counts["unclassified"] = pd.to_numeric(counts["unclassified"]).fillna(0).astype("int64")
    if by:
        counts = counts.sort_values(by).reset_index(drop=True)
    return counts[columns]


# Keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
VECTOR_LOOKUP_CHUNK = 500


class DatabaseVectorCache:
    """Sentence vectors in the ``text_vectors`` table, so a rerun embeds only new comments.

    The cache interface of :mod:`analysis.encoder` (``get(keys, model)`` -> dict of key ->
    float32 vector, ``put(vectors, model)``). A database whose schema predates the table
    caches nothing (the run still works; ``flask db upgrade`` adds it).

    Parameters
    ----------
    engine : Engine or str
    """

    def __init__(self, engine):
        self.engine = get_engine(engine)
        self._missing = None

    def _usable(self) -> bool:
        if self._missing is None:
            self._missing = bool(_missing_tables(self.engine, ["text_vectors"]))
        return not self._missing

    def get(self, keys, model) -> dict:
        keys = list(dict.fromkeys(keys))
        if not keys or not self._usable():
            return {}
        found = {}
        columns = text_vectors.c
        for chunk in _chunks(keys, VECTOR_LOOKUP_CHUNK):
            _, rows = _run_query(self.engine, sa.select(columns.text_sha256, columns.vector).where(
                columns.model == model, columns.text_sha256.in_(chunk)), ["text_vectors"])
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype="<f4").copy()
        return found

    def put(self, vectors, model) -> None:
        if not vectors or not self._usable():
            return
        known = self.get(vectors, model)  # another run may have stored some meanwhile
        now = _utcnow()
        rows = [{"text_sha256": key, "model": model, "vector": np.asarray(vector, dtype="<f4").tobytes(),
                 "created_at": now} for key, vector in vectors.items() if key not in known]
        try:
            with self.engine.begin() as connection:
                for chunk in _chunks(rows, INSERT_CHUNK_SIZE):
                    connection.execute(text_vectors.insert(), chunk)
        except DBAPIError as error:
            raise _wrap_error(self.engine, error, ["text_vectors"]) from error
