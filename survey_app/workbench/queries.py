"""What the workbench reads: the latest run's themes with their counts, and a theme's comments.

Counts come from `analysis.store` (the same GROUP BY the reports use); a theme's comments are
one indexed page of `theme_mentions` (or, for 未分類, of `response_themes`), least certain first.
"""
import functools
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import sqlalchemy as sa

from analysis import catalog_versions
from analysis import decisions as analysis_decisions
from pathlib import Path

from analysis.catalog import DEFAULT_CATALOG_PATH
from analysis.masking import search_form
from analysis.pipeline import UNCLASSIFIED_LABEL
from analysis.store import latest_run, mention_counts, unclassified_counts

from ..extensions import db
from ..models import Facility, Response, ResponseTheme, Theme, ThemeMention, User
from ..reports.queries import _like_pattern, month_bounds_utc
from ..timeutil import to_tokyo

UNCLASSIFIED = "unclassified"  # the URL name of 未分類, which has no theme code
COMMENTS_PER_PAGE = 30
SOURCE_LABELS = {"catalog": "コード表", "discovery": "発見", "analyst": "分析担当", "unclassified": "未分類"}


@dataclass
class ThemeRow:
    theme_id: str
    label: str
    source: str
    respondents: int = 0
    praise: int = 0
    request: int = 0
    months: list = field(default_factory=list)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)


def current_run() -> dict | None:
    return latest_run(db.engine)


# The theme list's GROUP BY reads every mention of the run (seconds at 200,000 answers), and its
# result changes only with a new run or a decision or edit: it is cached under that state.
_LIST_CACHE: OrderedDict = OrderedDict()
_LIST_CACHE_LOCK = threading.Lock()
LIST_CACHE_SIZE = 8


def theme_list(run: dict) -> list[ThemeRow]:
    """Every theme of the run, largest first, then 未分類, each with its monthly split (cached)."""
    key = (str(db.engine.url), run["id"], run.get("finished_at"),
           analysis_decisions.decisions_state(db.engine))
    with _LIST_CACHE_LOCK:
        if key in _LIST_CACHE:
            _LIST_CACHE.move_to_end(key)
            return _LIST_CACHE[key]
    rows = _theme_list(run)
    with _LIST_CACHE_LOCK:
        _LIST_CACHE[key] = rows
        while len(_LIST_CACHE) > LIST_CACHE_SIZE:
            _LIST_CACHE.popitem(last=False)
    return rows


def run_months(run: dict) -> list[str]:
    """The months ("YYYY-MM", Tokyo) with mentions in the run."""
    rows = theme_list(run)
    return [slot["month"] for slot in rows[0].months] if rows and rows[0].months else []


def _theme_list(run: dict) -> list[ThemeRow]:
    engine = db.engine
    themes = {code: ThemeRow(code, label, source) for code, label, source in db.session.execute(
        sa.select(Theme.theme_id, Theme.label, Theme.source).where(Theme.run_id == run["results_run_id"]))}
    monthly = mention_counts(engine, run["results_run_id"], by=("theme_id", "polarity", "month"))
    months = sorted(set(monthly["month"].dropna()))
    series: dict[str, dict[str, dict]] = {}
    for code, polarity, month, respondents in monthly[["theme_id", "polarity", "month",
                                                       "respondents"]].itertuples(index=False):
        row = themes.setdefault(code, ThemeRow(code, code, "catalog"))
        row.respondents += int(respondents)
        setattr(row, polarity, getattr(row, polarity) + int(respondents))
        slot = series.setdefault(code, {}).setdefault(month, {"praise": 0, "request": 0})
        slot[polarity] += int(respondents)
    for code, row in themes.items():
        by_month = series.get(code, {})
        row.months = [{"month": m, **by_month.get(m, {"praise": 0, "request": 0})} for m in months]
    rows = sorted((row for row in themes.values() if row.respondents),
                  key=lambda row: (-row.respondents, row.theme_id))
    unclassified = unclassified_counts(engine, run["results_run_id"], by=())
    count = int(unclassified["unclassified"].sum()) if len(unclassified) else 0
    rows.append(ThemeRow(UNCLASSIFIED, UNCLASSIFIED_LABEL, "unclassified", respondents=count))
    return rows


@functools.lru_cache(maxsize=8)
def _catalog_file_names(path: str, _mtime: float) -> dict[str, str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {theme["code"]: theme.get("name", theme["code"]) for theme in data.get("themes", [])}


def catalog_names(run: dict) -> dict[str, str]:
    """Names of the run's catalog themes, met by the run or not (empty without a catalog), and
    of the published catalog's: a theme just promoted can be given to comments before the next run."""
    names = dict(_run_catalog_names(run))  # a copy: the file names are cached
    published = catalog_versions.published_catalog(db.engine) if names else None
    for theme in (published or {}).get("catalog", {}).get("themes", []):
        names.setdefault(theme["code"], theme.get("name", theme["code"]))
    return names


def _run_catalog_names(run: dict) -> dict[str, str]:
    spec = (run.get("parameters") or {}).get("catalog", "default")
    if spec in (None, "none"):
        return {}
    if spec == "published":  # the version the run recorded, else the file it fell back to
        try:
            catalog = catalog_versions.find_version(db.engine, run.get("catalog_version") or "")["catalog"]
            return {theme["code"]: theme.get("name", theme["code"]) for theme in catalog.get("themes", [])}
        except catalog_versions.CatalogError:
            published_file = catalog_versions.default_catalog_file()
            spec = str(published_file) if published_file.is_file() else "default"
    path = Path(DEFAULT_CATALOG_PATH if spec == "default" else spec)
    try:
        return _catalog_file_names(str(path), path.stat().st_mtime)
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def theme_choices(run: dict) -> list[tuple[str, str]]:
    """Themes a comment may be given: the catalog's and the analysts' (codes stable across runs)."""
    names = dict(catalog_names(run))
    names.update(db.session.execute(sa.select(Theme.theme_id, Theme.label).where(
        Theme.run_id == run["results_run_id"], Theme.source != "discovery")).all())
    return sorted((code, label) for code, label in names.items() if not code.startswith("D"))


@dataclass
class CommentFilters:
    facility: str | None = None
    month: str | None = None
    polarity: str | None = None
    text: str | None = None
    page: int = 1

    def query_args(self, **changes) -> dict:
        values = {"facility": self.facility, "month": self.month, "polarity": self.polarity,
                  "q": self.text, "page": self.page}
        values.update(changes)
        return {key: value for key, value in values.items()
                if value not in (None, "") and not (key == "page" and value == 1)}


@dataclass
class Comment:
    response_id: int
    text: str
    facility_name: str
    submitted_at: object
    score: float | None
    polarity: str | None
    labels: list = field(default_factory=list)  # [(code, polarity)], main point first
    decision: dict | None = None


@dataclass
class CommentPage:
    items: list
    total: int
    page: int
    pages: int


def theme_comments(run: dict, code: str, filters: CommentFilters,
                   per_page: int = COMMENTS_PER_PAGE) -> CommentPage:
    """One page of a theme's comments (masked), borderline (lowest score) first.

    The order and the count come from the index on (run, theme, score); responses and
    facilities are joined only as far as a filter needs them, and for the page's rows.
    """
    if code == UNCLASSIFIED:
        members = (sa.select(ResponseTheme.response_id, ResponseTheme.score,
                             sa.literal(None, sa.String).label("polarity"))
                   .where(ResponseTheme.run_id == run["results_run_id"], ResponseTheme.theme_id.is_(None),
                          ResponseTheme.source == "unclassified"))
        key, order = ResponseTheme.response_id, (ResponseTheme.response_id,)
    else:
        members = (sa.select(ThemeMention.response_id, ThemeMention.score, ThemeMention.polarity)
                   .where(ThemeMention.run_id == run["results_run_id"], ThemeMention.theme_id == code))
        if filters.polarity:
            members = members.where(ThemeMention.polarity == filters.polarity)
        # NULL scores (a model's labels given back by an undo) sort as the dialect puts them.
        key, order = ThemeMention.response_id, (ThemeMention.score.asc(), ThemeMention.response_id)
    if filters.facility or filters.month or filters.text:
        members = members.join(Response, Response.id == key)
        if filters.facility:
            members = members.where(Response.facility_id == sa.select(Facility.id).where(
                Facility.code == filters.facility).scalar_subquery())
        if filters.month:
            start, end = month_bounds_utc(filters.month)
            members = members.where(Response.submitted_at >= start, Response.submitted_at < end)
        if filters.text:
            # The masked text only, as in the reports' comment search.
            members = members.where(Response.comment_masked.ilike(
                _like_pattern(search_form(filters.text)), escape="\\"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(members.subquery()))
    pages = max(1, math.ceil(total / per_page))
    page = min(filters.page, pages)
    chosen = members.order_by(*order).limit(per_page).offset((page - 1) * per_page).subquery()
    rows = db.session.execute(
        sa.select(chosen.c.response_id, Response.comment_masked, Facility.name, Response.submitted_at,
                  chosen.c.score, chosen.c.polarity)
        .select_from(chosen.join(Response, Response.id == chosen.c.response_id)
                     .join(Facility, Facility.id == Response.facility_id))).all()
    items = [Comment(response_id, text or "", name, to_tokyo(moment), score, polarity)
             for response_id, text, name, moment, score, polarity in rows]
    items.sort(key=lambda item: (item.score is not None, item.score or 0, item.response_id)
               if code != UNCLASSIFIED else (item.response_id,))
    _add_labels_and_decisions(run, items)
    return CommentPage(items, total, page, pages)


def _add_labels_and_decisions(run: dict, items: list[Comment]) -> None:
    if not items:
        return
    by_id = {item.response_id: item for item in items}
    for response_id, code, polarity in db.session.execute(
            sa.select(ThemeMention.response_id, ThemeMention.theme_id, ThemeMention.polarity)
            .where(ThemeMention.run_id == run["results_run_id"], ThemeMention.response_id.in_(list(by_id)))
            .order_by(ThemeMention.response_id, ThemeMention.rank)):
        by_id[response_id].labels.append((code, polarity))
    fingerprints = {item.response_id: analysis_decisions.fingerprint(item.text) for item in items}
    found = analysis_decisions.current_decisions(db.engine, [fp for fp in fingerprints.values() if fp])
    users = {}
    if found:
        ids = {row["user_id"] for row in found.values() if row["user_id"]}
        users = dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())
    for item in items:
        decision = found.get(fingerprints[item.response_id])
        if decision is not None:
            item.decision = {**decision, "username": users.get(decision["user_id"], "コマンド")}


def facility_choices() -> list[tuple[str, str]]:
    return list(db.session.execute(sa.select(Facility.code, Facility.name).order_by(Facility.code)).all())


def response_text(response_id: int) -> str | None:
    return db.session.scalar(sa.select(Response.comment_masked).where(Response.id == response_id))
