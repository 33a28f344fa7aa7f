"""Versions of the theme catalog in the database: retrain, compare, publish, restore, diff.

A version is a catalog in its JSON form (:meth:`analysis.catalog.ThemeCatalog.to_dict`) in
the ``catalog_versions`` table, with the version it was built from, who made it, its
cross-validated figures (:mod:`analysis.evaluation`) and what it would change on the latest
run. At most one version is published: the catalog of the next ``survey-analysis run``.
Publishing also writes it to a catalog file (``instance/catalog.json``) that ``run`` reads when
the database has no published version, so a recreated demo database keeps the analysts' catalog.

Every retrain, publish, restore and import writes an ``audit_events`` row in the same
transaction. Like :mod:`analysis.store`, this module names the tables it needs with
``sqlalchemy.table()`` and never imports the web application.
"""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from .mentions import format_labels, parse_labels
from .store import get_engine, latest_run, read_mentions, read_responses, read_theme_assignments
from .text import normalize

__all__ = [
    "CATALOG_FILE_ENV",
    "CatalogError",
    "change_preview",
    "decision_examples",
    "default_catalog_file",
    "diff_catalogs",
    "ensure_shipped_version",
    "export_catalog",
    "find_version",
    "get_version",
    "import_catalog",
    "list_versions",
    "promote_theme",
    "publish",
    "published_catalog",
    "retrain",
    "run_retrain",
    "start_retrain",
    "validate_catalog",
]

CATALOG_FILE_ENV = "SURVEY_CATALOG_FILE"
THEME_ID_PATTERN = re.compile(r"^T\d{2,3}$")
NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 500
MOVE_EXAMPLES = 3
MOVES_SHOWN = 20
EXAMPLE_CHARS = 120
OUTSIDE = "outside"  # no catalog mention: left to discovery or 未分類

catalog_versions = sa.table(
    "catalog_versions",
    sa.column("id", sa.Integer),
    sa.column("label", sa.String),
    sa.column("catalog", sa.JSON),
    sa.column("parent_id", sa.Integer),
    sa.column("created_by", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("note", sa.Text),
    sa.column("status", sa.String),
    sa.column("progress", sa.JSON),
    sa.column("cv_figures", sa.JSON),
    sa.column("preview", sa.JSON),
    sa.column("published_at", sa.DateTime),
)
audit_events = sa.table(
    "audit_events",
    sa.column("occurred_at", sa.DateTime),
    sa.column("user_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
)


class CatalogError(ValueError):
    """A catalog or a request about one that cannot be used; ``ja`` is the message for the pages."""

    def __init__(self, message: str, ja: str | None = None):
        super().__init__(message)
        self.ja = ja or message


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def default_catalog_file() -> Path:
    """The published catalog's file: ``$SURVEY_CATALOG_FILE``, else ``instance/catalog.json``."""
    return Path(os.environ.get(CATALOG_FILE_ENV) or Path("instance") / "catalog.json")


def _audit(connection, action: str, target: str, user_id: int | None) -> None:
    connection.execute(audit_events.insert().values(
        occurred_at=_utcnow(), user_id=user_id, action=action, target=target[:200]))


# --- reading -------------------------------------------------------------------------------


def _row_dict(row) -> dict:
    version = dict(row._mapping)
    for key in ("created_at", "published_at"):
        if isinstance(version.get(key), str):
            version[key] = datetime.fromisoformat(version[key])
    return version


def _has_table(engine) -> bool:
    return sa.inspect(engine).has_table("catalog_versions")


def list_versions(engine) -> list[dict]:
    """Every version, newest first, without its catalog JSON but with theme and example counts."""
    engine = get_engine(engine)
    if not _has_table(engine):
        return []
    with engine.connect() as connection:
        rows = connection.execute(sa.select(catalog_versions).order_by(catalog_versions.c.id.desc())).all()
    versions = []
    for row in rows:
        version = _row_dict(row)
        catalog = version.pop("catalog") or {}
        version["n_themes"] = len(catalog.get("themes", []))
        version["n_examples"] = _n_examples(catalog)
        versions.append(version)
    return versions


def get_version(engine, version_id: int) -> dict | None:
    """One version with its catalog JSON, or None."""
    engine = get_engine(engine)
    with engine.connect() as connection:
        row = connection.execute(sa.select(catalog_versions).where(catalog_versions.c.id == int(version_id))).first()
    return _row_dict(row) if row is not None else None


def find_version(engine, spec: str) -> dict:
    """A version by id, label or ``published``; CatalogError when there is none."""
    engine = get_engine(engine)
    spec = str(spec).strip()
    if spec == "published":
        version = published_catalog(engine)
    else:
        column = catalog_versions.c.id if spec.isdigit() else catalog_versions.c.label
        value = int(spec) if spec.isdigit() else spec
        with engine.connect() as connection:
            row = connection.execute(sa.select(catalog_versions).where(column == value)).first()
        version = _row_dict(row) if row is not None else None
    if version is None:
        raise CatalogError(f"no catalog version {spec!r} (see 'survey-analysis catalog list')",
                           f"カタログの版「{spec}」はありません。")
    return version


def published_catalog(engine) -> dict | None:
    """The published version (with its catalog JSON), or None; None also without the table."""
    engine = get_engine(engine)
    if not _has_table(engine):
        return None
    with engine.connect() as connection:
        row = connection.execute(sa.select(catalog_versions).where(catalog_versions.c.published_at.is_not(None))
                                 .order_by(catalog_versions.c.published_at.desc()).limit(1)).first()
    return _row_dict(row) if row is not None else None


def _n_examples(catalog: dict) -> int:
    return sum(len(t.get("examples", [])) for t in catalog.get("themes", [])) + len(catalog.get("examples", []))


# --- validating and storing ------------------------------------------------------------------


def validate_catalog(data):
    """Check a catalog's JSON form and train it; return the :class:`ThemeCatalog`.

    Parameters
    ----------
    data : dict, str or bytes
        The catalog, or its JSON text.

    Raises
    ------
    CatalogError
        Naming the first problem, in English and Japanese.
    """
    from .catalog import READABLE_FORMATS, ThemeCatalog

    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
        except UnicodeDecodeError:
            raise CatalogError("the file is not UTF-8 text", "ファイルが UTF-8 のテキストではありません。") from None
        except json.JSONDecodeError as error:
            raise CatalogError(f"not JSON: {error}",
                               f"JSON として読めません（{error.lineno}行目 {error.colno}文字目）。") from None
    if not isinstance(data, dict):
        raise CatalogError("a catalog is a JSON object", "カタログは JSON のオブジェクト（{ … }）です。")
    if data.get("format") not in READABLE_FORMATS:
        raise CatalogError(f"unsupported catalog format {data.get('format')!r}",
                           f"カタログの形式（format）が {data.get('format')!r} です。"
                           f"{'・'.join(map(str, READABLE_FORMATS))} のどれかにしてください。")
    themes = data.get("themes")
    if not isinstance(themes, list) or not themes:
        raise CatalogError("the catalog has no themes", "テーマ（themes）がありません。")
    seen = set()
    for number, theme in enumerate(themes, start=1):
        if not isinstance(theme, dict) or not isinstance(theme.get("code"), str) or not theme["code"].strip():
            raise CatalogError(f"theme {number} has no code", f"{number}番目のテーマにコード（code）がありません。")
        if theme["code"] in seen:
            raise CatalogError(f"theme code {theme['code']} appears twice",
                               f"テーマのコード {theme['code']} が2回あります。")
        seen.add(theme["code"])
        if not isinstance(theme.get("name", ""), str):
            raise CatalogError(f"theme {theme['code']}: name is not text",
                               f"テーマ {theme['code']} の名前（name）が文字列ではありません。")
    examples = data.get("examples", [])
    if not isinstance(examples, list):
        raise CatalogError("examples is not a list", "例文（examples）がリストではありません。")
    for number, example in enumerate(examples, start=1):
        if not isinstance(example, dict) or not isinstance(example.get("comment"), str):
            raise CatalogError(f"example {number} has no comment", f"{number}番目の例文にコメント（comment）がありません。")
        try:
            found = parse_labels(example.get("labels", ""))
        except ValueError as error:
            raise CatalogError(f"example {number}: {error}",
                               f"{number}番目の例文のラベル「{example.get('labels')}」が読めません"
                               "（T07:R;T01:P の形にしてください）。") from None
        unknown = sorted({code for code, _ in found} - seen)
        if unknown:
            raise CatalogError(f"example {number} names unknown themes {', '.join(unknown)}",
                               f"{number}番目の例文が、カタログにないテーマ {'、'.join(unknown)} を指しています。")
    try:
        return ThemeCatalog.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CatalogError(f"cannot train the catalog: {error}",
                           f"このカタログでは分類器を学習できません（{error}）。") from None


def _insert_version(connection, catalog: dict, parent_id, created_by, note, status="ready",
                    cv_figures=None) -> int:
    """Insert a version; its label, also the catalog's ``version``, is ``YYYY.MM.DD-id``."""
    now = _utcnow()
    version_id = connection.execute(catalog_versions.insert().values(
        label=f"pending-{now.timestamp()}-{os.getpid()}", catalog={}, parent_id=parent_id,
        created_by=(created_by or "")[:64], created_at=now, note=(note or "")[:NOTE_MAX_LENGTH],
        status=status, progress={}, cv_figures=cv_figures).returning(catalog_versions.c.id)).scalar_one()
    label = f"{now:%Y.%m.%d}-{version_id}"
    stored = {**catalog, "version": label, "created_at": now.replace(tzinfo=timezone.utc).isoformat(timespec="seconds")}
    connection.execute(catalog_versions.update().where(catalog_versions.c.id == version_id)
                       .values(label=label, catalog=stored))
    return int(version_id)


def ensure_shipped_version(engine) -> int:
    """The id of the oldest version; the shipped default catalog is stored as one when there is none."""
    from .catalog import DEFAULT_CATALOG_PATH

    engine = get_engine(engine)
    with engine.begin() as connection:
        first = connection.execute(sa.select(sa.func.min(catalog_versions.c.id))).scalar()
        if first is not None:
            return int(first)
        shipped = json.loads(Path(DEFAULT_CATALOG_PATH).read_text(encoding="utf-8"))
        return _insert_version(connection, shipped, None, "", f"同梱の標準カタログ（{shipped.get('version')}）")


def import_catalog(engine, data, created_by="", note="", user_id=None) -> int:
    """Validate a catalog (JSON text, bytes or dict) and store it as a new version; nothing on error."""
    engine = get_engine(engine)
    catalog = validate_catalog(data).to_dict()
    ensure_shipped_version(engine)
    with engine.begin() as connection:
        version_id = _insert_version(connection, catalog, None, created_by,
                                     note or f"取り込み（元の版 {catalog.get('version')}）")
        _audit(connection, "catalog.import", f"version {version_id}", user_id)
    return version_id


def export_catalog(engine, version_id) -> dict:
    """The catalog JSON of a version (for ``ThemeCatalog.from_dict`` or a file)."""
    return find_version(engine, str(version_id))["catalog"]


def _write_catalog_file(catalog: dict, path: Path) -> None:
    # Written beside and renamed over: a run starting meanwhile reads the old file or the new one.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(catalog, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def publish(engine, version_id, catalog_file=None, user_id=None) -> str:
    """Make a version the published one and write it to the catalog file.

    Publishing a version older than the published one is a restore. Returns the audit action
    (``catalog.publish`` or ``catalog.restore``).
    """
    engine = get_engine(engine)
    version = find_version(engine, str(version_id))
    if version["status"] != "ready":
        raise CatalogError(f"version {version['id']} is {version['status']}, not ready to publish",
                           "この版はまだ学習中か、学習に失敗したため公開できません。")
    current = published_catalog(engine)
    action = "catalog.restore" if current is not None and version["id"] < current["id"] else "catalog.publish"
    with engine.begin() as connection:
        connection.execute(catalog_versions.update().values(published_at=None))
        connection.execute(catalog_versions.update().where(catalog_versions.c.id == version["id"])
                           .values(published_at=_utcnow()))
        _audit(connection, action, f"version {version['id']}", user_id)
        # Inside the transaction: if the file cannot be written, nothing is published.
        _write_catalog_file(version["catalog"], Path(catalog_file or default_catalog_file()))
    return action


# --- building a new version ------------------------------------------------------------------


def decision_examples(engine) -> list[dict]:
    """The analysts' decisions as examples, ``[{"comment", "labels"}]``; none without that module."""
    try:
        from .decisions import decisions_as_examples
    except ImportError:
        return []
    return list(decisions_as_examples(get_engine(engine)))


def candidate_catalog(base: dict, extra_examples=()) -> dict:
    """``base`` with ``extra_examples`` added; an extra example replaces a base one of the same comment."""
    key = lambda example: normalize(example["comment"])  # noqa: E731
    extra = {}
    for example in extra_examples:
        extra[key(example)] = {"comment": str(example["comment"]), "labels": str(example["labels"])}
    kept = [dict(e) for e in base.get("examples", []) if key(e) not in extra]
    return {**base, "themes": [dict(t) for t in base["themes"]], "examples": kept + list(extra.values())}


def promote_theme(base: dict, theme_id: str, name: str, description: str, examples) -> dict:
    """``base`` with a new theme and its example comments (``[{"comment", "labels"}]``)."""
    theme_id, name, description = (theme_id or "").strip().upper(), (name or "").strip(), (description or "").strip()
    if not THEME_ID_PATTERN.match(theme_id):
        raise CatalogError(f"theme id {theme_id!r} is not like T12", "テーマのコードは T12 のように T と数字2〜3桁です。")
    if theme_id in {t["code"] for t in base["themes"]}:
        raise CatalogError(f"theme id {theme_id} exists", f"コード {theme_id} のテーマはすでにあります。")
    if not name or len(name) > NAME_MAX_LENGTH:
        raise CatalogError("a theme needs a name", f"テーマ名を{NAME_MAX_LENGTH}文字以内で入力してください。")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise CatalogError("description too long", f"説明は{DESCRIPTION_MAX_LENGTH}文字以内にしてください。")
    examples = list(examples)
    if len(examples) < 2:
        raise CatalogError("a new theme needs at least two example comments",
                           "新しいテーマには例文にするコメントを2件以上選んでください。")
    theme = {"code": theme_id, "name": name, "description": description, "seed_words": [], "examples": []}
    return candidate_catalog({**base, "themes": [*base["themes"], theme]}, examples)


def _fit_examples(engine, examples, themes) -> tuple[list[dict], str]:
    """The extra examples (the analysts' decisions) a catalog of ``themes`` can learn from.

    A decision may name an analyst theme (``A01``) that the catalog lacks: it is mapped to the
    catalog theme of the same name (an analyst theme promoted under its name), else the example
    is left out rather than refusing the retrain. ``T00:N`` (says nothing) names no theme and
    stays. Returns the examples and a note naming what was left out ("" when nothing was).
    """
    codes = {t["code"] for t in themes}
    by_name = {normalize(t.get("name") or "").casefold(): t["code"] for t in themes if t.get("name")}
    mapped = None
    kept, unknown, n_left_out = [], set(), 0
    for example in examples:
        try:
            points = parse_labels(example["labels"])
        except ValueError:
            kept.append(example)  # refused with its reason by start_retrain's check
            continue
        if all(code in codes for code, _ in points):
            kept.append(example)
            continue
        if mapped is None:
            from .decisions import theme_names

            mapped = {code: by_name.get(normalize(name).casefold()) for code, name in theme_names(engine).items()}
        renamed, seen = [], set()
        for code, polarity in points:
            code = code if code in codes else mapped.get(code) or code
            if code not in seen:
                seen.add(code)
                renamed.append((code, polarity))
        missing = {code for code, _ in renamed if code not in codes}
        if missing:
            unknown |= missing
            n_left_out += 1
        else:
            kept.append({**example, "labels": format_labels(renamed)})
    if not n_left_out:
        return kept, ""
    return kept, (f"判断 {n_left_out} 件は、カタログにないテーマ（{'、'.join(sorted(unknown))}）を指すため"
                  "学習に使っていません。")


def start_retrain(engine, base_id=None, extra_examples=(), created_by="", note="", catalog=None,
                  user_id=None) -> int:
    """Store a candidate version (status ``training``) built on ``base_id`` (default: the published one).

    ``catalog`` (e.g. from :func:`promote_theme`) replaces the base catalog the examples are
    added to. Extra examples naming themes the catalog lacks are mapped or left out (see
    :func:`_fit_examples`; the version's note says so). The candidate's examples are checked
    here; :func:`run_retrain` does the long work.
    """
    engine = get_engine(engine)
    shipped_id = ensure_shipped_version(engine)
    if base_id is None:
        published = published_catalog(engine)
        base_id = published["id"] if published is not None else shipped_id
    base = find_version(engine, str(base_id))
    extra_examples, left_out = _fit_examples(engine, extra_examples, (catalog or base["catalog"])["themes"])
    if left_out:
        note = " ".join(part for part in (note, left_out) if part)
    candidate = candidate_catalog(catalog or base["catalog"], extra_examples)
    codes = {t["code"] for t in candidate["themes"]}
    for example in candidate["examples"]:
        try:
            unknown = sorted({code for code, _ in parse_labels(example["labels"])} - codes)
        except ValueError as error:
            raise CatalogError(f"example {example['comment'][:20]!r}: {error}",
                               f"ラベル「{example['labels']}」が読めません。") from None
        if unknown:
            raise CatalogError(f"examples name themes the catalog does not have: {', '.join(unknown)}",
                               f"カタログにないテーマ {'、'.join(unknown)} を指す例文があります。")
    with engine.begin() as connection:
        version_id = _insert_version(connection, candidate, base["id"], created_by, note, status="training")
        connection.execute(catalog_versions.update().where(catalog_versions.c.id == version_id)
                           .values(progress={"stage": "queued", "done": 0, "total": 1}))
        _audit(connection, "catalog.retrain", f"version {version_id} from {base['id']}", user_id)
    return version_id


def _set(engine, version_id, **values) -> None:
    with engine.begin() as connection:
        connection.execute(catalog_versions.update().where(catalog_versions.c.id == version_id).values(**values))


def run_retrain(engine, version_id, n_jobs=1, progress=None) -> dict:
    """Train a ``training`` version, cross-validate it (and its parent, if never measured), preview it.

    ``n_jobs`` processes share the folds and the preview (-1: every core).

    Progress is stored on the row (``progress``: stage, done, total) for the page that polls
    it, and passed to ``progress(stage, done, total)`` when given. Returns the version.
    """
    from .catalog import ThemeCatalog
    from .evaluation import cross_validate_catalog

    engine = get_engine(engine)
    version = get_version(engine, version_id)

    def report(stage, done, total):
        _set(engine, version_id, progress={"stage": stage, "done": done, "total": total,
                                           "at": _utcnow().isoformat(timespec="seconds")})
        if progress is not None:
            progress(stage, done, total)

    try:
        report("train", 0, 1)
        candidate = ThemeCatalog.from_dict(version["catalog"])
        report("train", 1, 1)
        figures = cross_validate_catalog(version["catalog"], progress=lambda d, t: report("cv", d, t),
                                         n_jobs=n_jobs)
        _set(engine, version_id, cv_figures=figures)
        parent = get_version(engine, version["parent_id"]) if version["parent_id"] else None
        if parent is not None and not parent["cv_figures"]:
            parent_figures = cross_validate_catalog(parent["catalog"], n_jobs=n_jobs,
                                                    progress=lambda d, t: report("parent_cv", d, t))
            _set(engine, parent["id"], cv_figures=parent_figures)
        preview = change_preview(engine, candidate, n_jobs=n_jobs,
                                 progress=lambda d, t: report("preview", d, t))
        _set(engine, version_id, preview=preview, status="ready",
             progress={"stage": "done", "done": 1, "total": 1})
    except Exception as error:
        # The message is for the analyst; it names a stage and an error class, never comment text.
        _set(engine, version_id, status="failed",
             progress={"stage": "failed", "done": 0, "total": 1, "error": type(error).__name__})
        raise
    return get_version(engine, version_id)


def retrain(engine, base_id=None, extra_examples=None, created_by="", note="", user_id=None, n_jobs=1,
            progress=None) -> dict:
    """:func:`start_retrain` then :func:`run_retrain` here; extra examples default to the decisions."""
    if extra_examples is None:
        extra_examples = decision_examples(engine)
    version_id = start_retrain(engine, base_id, extra_examples, created_by=created_by, note=note,
                               user_id=user_id)
    return run_retrain(engine, version_id, n_jobs=n_jobs, progress=progress)


# --- comparing --------------------------------------------------------------------------------


def _theme_examples(catalog: dict) -> dict:
    counts = {t["code"]: len(t.get("examples", [])) for t in catalog.get("themes", [])}
    for example in catalog.get("examples", []):
        for code, _ in parse_labels(example["labels"]):
            counts[code] = counts.get(code, 0) + 1
    return counts


def diff_catalogs(old: dict, new: dict) -> dict:
    """What changed from one catalog to another.

    Returns
    -------
    dict
        ``added`` and ``removed`` (``theme_id``, ``name``), ``renamed`` (``theme_id``, ``old``,
        ``new``), ``described`` (theme ids whose description changed), ``examples`` (per theme
        id present in either: ``name``, ``old``, ``new`` example counts), ``examples_added``
        and ``examples_removed`` (multi-point examples by comment), ``thresholds`` (name ->
        (old, new) for those that changed).
    """
    old_themes = {t["code"]: t for t in old.get("themes", [])}
    new_themes = {t["code"]: t for t in new.get("themes", [])}
    old_counts, new_counts = _theme_examples(old), _theme_examples(new)
    old_comments = {normalize(e["comment"]) for e in old.get("examples", [])}
    new_comments = {normalize(e["comment"]) for e in new.get("examples", [])}
    codes = [*old_themes, *[c for c in new_themes if c not in old_themes]]
    return {
        "added": [{"theme_id": c, "name": new_themes[c].get("name", c)} for c in new_themes if c not in old_themes],
        "removed": [{"theme_id": c, "name": old_themes[c].get("name", c)} for c in old_themes if c not in new_themes],
        "renamed": [{"theme_id": c, "old": old_themes[c].get("name"), "new": new_themes[c].get("name")}
                    for c in old_themes if c in new_themes and old_themes[c].get("name") != new_themes[c].get("name")],
        "described": [c for c in old_themes if c in new_themes
                      and old_themes[c].get("description", "") != new_themes[c].get("description", "")],
        "examples": [{"theme_id": c, "name": (new_themes.get(c) or old_themes[c]).get("name", c),
                      "old": old_counts.get(c, 0), "new": new_counts.get(c, 0)} for c in codes],
        "examples_added": len(new_comments - old_comments),
        "examples_removed": len(old_comments - new_comments),
        "thresholds": {key: (old.get(key), new.get(key)) for key in ("threshold", "mention_threshold")
                       if old.get(key) != new.get(key)},
    }


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def change_preview(engine, candidate, run_id=None, n_jobs=1, progress=None) -> dict | None:
    """What a catalog would change on a stored run (the latest complete one by default).

    Each comment with content has a main point before (the run's rank-0 mention: a catalog
    theme, a discovered one or 未分類) and after (the candidate's main catalog mention, or
    none: left to discovery). Moves are the comments whose main point changes from one
    catalog theme to another, into the catalog from outside it, or out of it; a discovered
    theme whose comments stay outside the catalog has not moved.

    Returns
    -------
    dict or None
        None without a run. ``run_id``, ``n_comments``, ``n_moved`` (comments whose main point
        moves), ``n_mentions_changed`` ((comment, catalog theme) pairs gained or lost),
        ``moves`` (largest first: ``from``/``from_label``, ``to``/``to_label`` (``outside``
        for no catalog theme), ``count``, ``examples``: up to three masked comments) and
        ``themes`` (per catalog theme: ``theme_id``, ``name``, ``before``, ``after`` comments
        mentioning it).
    """
    from .masking import mask_personal_data
    from .pipeline import assign_themes

    engine = get_engine(engine)
    run = latest_run(engine) if run_id is None else {"id": int(run_id), "parameters": {}}
    if run is None:
        return None
    assignments = read_theme_assignments(engine, run["id"])
    content = assignments[assignments["source"] != "no_comment"]
    responses = read_responses(engine, fiscal_years=(run.get("parameters") or {}).get("fiscal_years"))
    responses = responses[responses["response_id"].isin(set(content["response_id"]))]
    mentions = read_mentions(engine, run["id"])
    before = {}
    for row in mentions.itertuples():
        before.setdefault(int(row.response_id), []).append((row.theme_id, row.theme_label))
    codes = set(candidate.codes)
    if progress is not None:
        progress(0, 2)
    masked = [mask_personal_data(text) for text in responses["comment"].fillna("")]
    _, _, found = assign_themes(masked, catalog=candidate, discover=False, n_jobs=n_jobs)
    if progress is not None:
        progress(1, 2)
    after = {}
    for row in found.sort_values(["row", "rank"]).itertuples():
        after.setdefault(int(row.row), []).append(row.theme_id)
    names = candidate.names
    moves, themes_before, themes_after = {}, {}, {}
    n_changed = 0
    for row, (response_id, text) in enumerate(zip(responses["response_id"], masked)):
        old = before.get(int(response_id), [])
        new = after.get(row, [])
        old_catalog = {code for code, _ in old if code in codes}
        for code in old_catalog:
            themes_before[code] = themes_before.get(code, 0) + 1
        for code in set(new):
            themes_after[code] = themes_after.get(code, 0) + 1
        n_changed += len(old_catalog ^ set(new))
        old_main, old_label = old[0] if old else (None, None)
        new_main = new[0] if new else OUTSIDE
        if old_main not in codes and new_main == OUTSIDE:
            continue  # outside the catalog before and after
        if old_main == new_main:
            continue
        key = (old_main or "unclassified", new_main)
        move = moves.setdefault(key, {"from": key[0], "from_label": old_label or "未分類", "to": new_main,
                                      "to_label": names.get(new_main, "カタログ外（発見テーマ・未分類）"),
                                      "count": 0, "examples": []})
        move["count"] += 1
        if len(move["examples"]) < MOVE_EXAMPLES:
            move["examples"].append(_short(text))
    ordered = sorted(moves.values(), key=lambda m: (-m["count"], m["from"], m["to"]))
    if progress is not None:
        progress(2, 2)
    return {
        "run_id": int(run["id"]), "n_comments": len(responses),
        "n_moved": sum(m["count"] for m in ordered), "n_mentions_changed": n_changed,
        "moves": ordered[:MOVES_SHOWN],
        "themes": [{"theme_id": c, "name": names[c], "before": themes_before.get(c, 0),
                    "after": themes_after.get(c, 0)} for c in candidate.codes],
    }
