"""Analysts' decisions (判定の修正): the label set of a comment, fixed by hand, kept across runs.

A decision replaces the whole label set of one comment text (``T07:R;T01:P``, main point first;
``T00:N`` = says nothing). It is kept by the fingerprint of the masked, NFKC comment (the text
``responses.comment_masked`` holds and the theme pipeline reads), with who and when, so it
applies to every identical comment, in the current run at once and in every later run through
:func:`apply_decisions`; the model never overrides it. The latest decision not undone wins.

Theme edits (rename, merge, split) made in the workbench are stored in ``theme_edits``. A merge
or a split, and a rename of a discovered theme (``D03``, whose number the next run may give to
other comments), become decisions on the comments they touch, pointing at a stable code: a
catalog code (``T07``) or an analyst theme's (``A01``, a prefix neither the catalog nor
discovery uses). Renaming a catalog or analyst theme only sets its label.

Like :mod:`analysis.store`, this module names its tables with ``sqlalchemy.table()`` and never
imports the web application.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .mentions import POLARITY_CODES, format_labels
from .pipeline import ThemeResult, UNCLASSIFIED_LABEL
from .store import get_engine, latest_run, response_themes, theme_mentions, themes_table
from .text import normalize

__all__ = [
    "DecisionError", "NO_CONTENT", "ANALYST_PREFIX", "apply_decisions", "decisions_as_examples",
    "decisions_state", "fingerprint", "merge_themes", "normalise_labels", "read_decisions", "read_edits",
    "rename_theme", "split_theme", "store_decisions", "theme_names", "undo_decision", "undo_edit",
]

NO_CONTENT = "T00:N"
# Codes of themes made in the workbench: the catalog uses T, discovery D.
ANALYST_PREFIX = "A"
# Codes a decision may name: catalog and analyst themes. Discovered codes change between runs.
DECIDABLE_CODE = re.compile(r"^[TA][0-9]{2,4}$")
DECISION_SCORE = 1.0
DECISION_SOURCE = "decision"
IN_CHUNK = 500

theme_decisions = sa.table(
    "theme_decisions",
    sa.column("id", sa.Integer), sa.column("fingerprint", sa.String),
    sa.column("comment_masked", sa.Text), sa.column("labels", sa.String),
    sa.column("model_labels", sa.String), sa.column("edit_id", sa.Integer),
    sa.column("user_id", sa.Integer), sa.column("created_at", sa.DateTime),
    sa.column("undone_at", sa.DateTime), sa.column("undone_by", sa.Integer),
)
theme_edits = sa.table(
    "theme_edits",
    sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("theme_id", sa.String),
    sa.column("from_theme_id", sa.String), sa.column("label", sa.String),
    sa.column("previous_label", sa.String), sa.column("user_id", sa.Integer),
    sa.column("created_at", sa.DateTime), sa.column("undone_at", sa.DateTime),
    sa.column("undone_by", sa.Integer),
)
masked_responses = sa.table("responses", sa.column("id", sa.Integer),
                            sa.column("comment_masked", sa.Text))
audit_events = sa.table("audit_events", sa.column("occurred_at", sa.DateTime),
                        sa.column("user_id", sa.Integer), sa.column("action", sa.String),
                        sa.column("target", sa.String))

DECISION_COLUMNS = ("id", "fingerprint", "comment", "labels", "model_labels", "edit_id",
                    "user_id", "created_at", "undone_at", "undone_by")


class DecisionError(ValueError):
    """A decision or theme edit that cannot be stored; `ja` says why in Japanese."""

    def __init__(self, message: str, ja: str):
        super().__init__(message)
        self.ja = ja


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def fingerprint(masked_text: str | None) -> str | None:
    """SHA-256 (hex) of a masked comment's NFKC form; None for an empty comment.

    Give it the masked text (``responses.comment_masked`` or
    :func:`analysis.masking.mask_personal_data`'s output): identical comments, as readers see
    them, have the same fingerprint.
    """
    if not masked_text:
        return None
    return hashlib.sha256(unicodedata.normalize("NFKC", masked_text).encode("utf-8")).hexdigest()


def normalise_labels(value: str) -> str:
    """Check a label set and return it in canonical form (``T07:R;T01:P`` or ``T00:N``).

    Raises
    ------
    DecisionError
        For an empty set, a part that is not ``CODE:P`` / ``CODE:R``, a discovered or unknown
        kind of code, a theme twice, or ``T00:N`` next to a theme.
    """
    parts = [part.strip() for part in str(value or "").replace("；", ";").split(";") if part.strip()]
    if not parts:
        raise DecisionError("empty label set", "テーマを1つ以上選ぶか、「内容なし」にしてください。")
    labels = []
    for part in parts:
        code, _, letter = part.partition(":")
        code, letter = code.strip().upper(), letter.strip().upper()
        if code == "T00":
            if letter not in ("", "N") or len(parts) > 1:
                raise DecisionError(f"{NO_CONTENT} stands alone, not in {value!r}",
                                    "「内容なし」は他のテーマと一緒には付けられません。")
            return NO_CONTENT
        if code.startswith("D"):
            raise DecisionError(
                f"{code} is a discovered theme, renumbered by every run; name it first",
                f"発見されたテーマ（{code}）は実行のたびに番号が変わるため、先に名前を付けてください。")
        if not DECIDABLE_CODE.match(code):
            raise DecisionError(f"label {part!r} is not CODE:P or CODE:R",
                                f"「{part[:20]}」はテーマの指定として読めません。")
        if letter not in POLARITY_CODES:
            raise DecisionError(f"label {part!r} needs :P (praise) or :R (request)",
                                "各テーマに「評価」か「要望」を選んでください。")
        if code in (c for c, _ in labels):
            raise DecisionError(f"theme {code} twice in {value!r}",
                                f"同じテーマ（{code}）が2回選ばれています。")
        labels.append((code, POLARITY_CODES[letter]))
    return format_labels(labels)


def _parse(labels: str | None) -> list[tuple[str, str]]:
    """Canonical labels -> [(code, polarity)]; "" and T00:N -> []."""
    if not labels or labels == NO_CONTENT:
        return []
    return [(code, POLARITY_CODES[letter]) for code, letter in
            (part.split(":") for part in labels.split(";"))]


# --- reading ------------------------------------------------------------------------------


def read_decisions(engine, include_undone=False) -> pd.DataFrame:
    """Return the decisions in force (the latest not undone per fingerprint), oldest first.

    Parameters
    ----------
    engine : Engine or str
    include_undone : bool, default False
        Every decision ever taken instead, undone and superseded ones included.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``fingerprint``, ``comment`` (masked), ``labels``, ``model_labels`` (what the
        run gave before), ``edit_id`` (the theme edit it belongs to, or None), ``user_id``,
        ``created_at``, ``undone_at``, ``undone_by``.
    """
    engine = get_engine(engine)
    d = theme_decisions.c
    statement = sa.select(d.id, d.fingerprint, d.comment_masked.label("comment"), d.labels,
                          d.model_labels, d.edit_id, d.user_id, d.created_at, d.undone_at,
                          d.undone_by).order_by(d.id)
    if not include_undone:
        statement = statement.where(d.undone_at.is_(None))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    if not include_undone:
        frame = frame.drop_duplicates("fingerprint", keep="last")
    return frame.reset_index(drop=True)


def decisions_as_examples(engine) -> list[dict]:
    """The decisions in force as training examples: ``[{"comment": ..., "labels": ...}]``."""
    frame = read_decisions(engine)
    return [{"comment": comment, "labels": labels}
            for comment, labels in zip(frame["comment"], frame["labels"])]


def _effective(connection, fingerprints=None) -> dict[str, dict]:
    """fingerprint -> the decision in force (a row mapping)."""
    d = theme_decisions.c
    statement = sa.select(*theme_decisions.c).where(d.undone_at.is_(None)).order_by(d.id)
    found = {}
    if fingerprints is None:
        for row in connection.execute(statement).mappings():
            found[row["fingerprint"]] = row
        return found
    fingerprints = list(fingerprints)
    for start in range(0, len(fingerprints), IN_CHUNK):
        chunk = fingerprints[start:start + IN_CHUNK]
        for row in connection.execute(statement.where(d.fingerprint.in_(chunk))).mappings():
            found[row["fingerprint"]] = row
    return found


def current_decisions(engine, fingerprints) -> dict[str, dict]:
    """The decision in force for each of `fingerprints` that has one (id, labels, user_id, ...)."""
    with get_engine(engine).connect() as connection:
        return {fp: dict(row) for fp, row in _effective(connection, fingerprints).items()}


def decisions_state(engine) -> tuple:
    """Changes whenever a decision or theme edit is stored or undone (cheap: small tables).

    Decisions and edits rewrite the latest run's rows, so a cache of counts read from a run
    keys on this as well as on the run.
    """
    state = []
    with get_engine(engine).connect() as connection:
        for table in (theme_decisions, theme_edits):
            state.extend(connection.execute(sa.select(sa.func.max(table.c.id),
                                                      sa.func.count(table.c.undone_at))).one())
    return tuple(state)


def read_edits(engine) -> pd.DataFrame:
    """Every theme edit, newest first."""
    engine = get_engine(engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(*theme_edits.c).order_by(theme_edits.c.id.desc())).all()
    return pd.DataFrame(rows, columns=[c.name for c in theme_edits.c])


def _names(connection) -> dict[str, str]:
    e = theme_edits.c
    rows = connection.execute(sa.select(e.theme_id, e.label).where(
        e.undone_at.is_(None), e.label.is_not(None)).order_by(e.id))
    return {code: label for code, label in rows}


def theme_names(engine) -> dict[str, str]:
    """Labels set in the workbench: renamed themes and analyst themes (code -> label)."""
    with get_engine(engine).connect() as connection:
        return _names(connection)


# --- the run: apply decisions ------------------------------------------------------------------


def apply_decisions(engine, result: ThemeResult, catalog=None, weights=None) -> ThemeResult:
    """Give every decided comment of a pipeline result exactly its decided mentions.

    `result` is :func:`analysis.pipeline.assign_themes`' output on masked comments (its
    assignments' ``comment`` column holds the masked text, as ``survey-analysis run`` gives it).
    A decided comment's mentions become the decision's (source ``decision``, score 1, the
    model's span where it found the same theme, else the whole comment); ``T00:N`` makes it a
    no-comment answer. Theme labels set in the workbench replace the model's (and the
    `catalog`'s, which names catalog themes the model did not meet), and the themes' sizes and
    praise/request split are counted again, each row as `weights` answers (default 1: for the
    distinct comments of ``survey-analysis run``, how many answers each stands for).

    Returns
    -------
    ThemeResult
        A new result; `result` is left as it was.
    """
    engine = get_engine(engine)
    with engine.connect() as connection:
        decided = {fp: row["labels"] for fp, row in _effective(connection).items()}
        names = _names(connection)
    if not decided and not names:
        return result
    assignments = result.assignments.copy()
    mentions = result.mentions
    comments = assignments["comment"].tolist()
    decided_rows = {}
    if decided:
        for row, text in enumerate(comments):
            labels = decided.get(fingerprint(text)) if isinstance(text, str) else None
            if labels is not None:
                decided_rows[row] = labels
    labels_of = dict(getattr(catalog, "names", None) or {})
    labels_of.update(zip(result.themes["theme_id"], result.themes["label"]))
    labels_of.update(names)
    keep = ~mentions["row"].isin(list(decided_rows))
    spans = {(r, c): (s, e) for r, c, s, e in mentions.loc[~keep, ["row", "theme_id", "span_start",
                                                                     "span_end"]].itertuples(index=False)}
    added = []
    for row, labels in decided_rows.items():
        points = _parse(labels)
        whole = (0, len(normalize(comments[row])))
        for rank, (code, polarity) in enumerate(points):
            start, end = spans.get((row, code), whole)
            added.append((row, code, polarity, DECISION_SCORE, start, end, rank))
        main = points[0][0] if points else None
        assignments.loc[row, ["theme_id", "theme_label", "score", "source", "mentions"]] = [
            main, labels_of.get(main, main) if main else None,
            DECISION_SCORE if main else np.nan, DECISION_SOURCE if main else "no_comment",
            labels if points else ""]
    mentions = pd.concat([mentions[keep], pd.DataFrame(added, columns=mentions.columns)],
                         ignore_index=True).astype(mentions.dtypes.to_dict())
    mentions = mentions.sort_values(["row", "rank"], kind="stable").reset_index(drop=True)
    main_label = assignments["theme_id"].map(labels_of)
    assignments["theme_label"] = main_label.where(assignments["theme_id"].notna(), None)
    weights = np.ones(len(assignments), dtype=np.int64) if weights is None else np.asarray(weights)
    return ThemeResult(assignments, _recount(result.themes, assignments, mentions, labels_of, weights),
                       mentions)


def _recount(themes: pd.DataFrame, assignments: pd.DataFrame, mentions: pd.DataFrame,
             labels_of: dict, weights) -> pd.DataFrame:
    """The themes summary again after decisions: sizes, split, labels, representatives
    (discovered themes keep their centroid)."""
    order = [code for code in themes["theme_id"] if code is not None]
    order += sorted(set(mentions["theme_id"]) - set(order))
    before = {row["theme_id"]: row for row in themes.to_dict("records")}
    rows = []
    for code in order:
        members = mentions[mentions["theme_id"] == code]
        if members.empty:
            continue
        old = before.get(code, {})
        member_rows = set(members["row"])
        representatives = [r for r in old.get("representatives", []) if r in member_rows]
        for r in members.sort_values(["rank", "score"], ascending=[True, False])["row"]:
            if len(representatives) >= 5:
                break
            if r not in representatives:
                representatives.append(int(r))
        # A comment mentions a theme at most once, so each mention row is one input row.
        member_weights = weights[members["row"].to_numpy()]
        polarity = members["polarity"].to_numpy()
        rows.append({
            "theme_id": code, "label": labels_of.get(code, code),
            "source": old.get("source") or ("analyst" if code.startswith(ANALYST_PREFIX) else "catalog"),
            "size": int(member_weights.sum()),
            "praise": int(member_weights[polarity == "praise"].sum()),
            "request": int(member_weights[polarity == "request"].sum()),
            "representatives": representatives, "words": old.get("words", []),
            "centroid": old.get("centroid"),
        })
    unclassified = np.flatnonzero((assignments["source"] == "unclassified").to_numpy())
    if len(unclassified):
        rows.append({"theme_id": None, "label": UNCLASSIFIED_LABEL, "source": "unclassified",
                     "size": int(weights[unclassified].sum()), "praise": 0, "request": 0,
                     "representatives": [int(r) for r in unclassified[:5]], "words": [],
                     "centroid": None})
    frame = pd.DataFrame(rows, columns=themes.columns)
    frame["theme_id"] = pd.Series([row["theme_id"] for row in rows], dtype=object)
    return frame


# --- writing: decisions, in the table and in the latest run --------------------------------------


def _response_ids_by_text(connection, texts) -> dict[str, list[int]]:
    r = masked_responses.c
    found: dict[str, list[int]] = {}
    texts = list(texts)
    for start in range(0, len(texts), IN_CHUNK):
        chunk = texts[start:start + IN_CHUNK]
        for response_id, text in connection.execute(
                sa.select(r.id, r.comment_masked).where(r.comment_masked.in_(chunk))):
            found.setdefault(text, []).append(response_id)
    return found


def _run_labels(connection, run_id, response_id) -> str:
    """What the run gives a response now: its labels, "T00:N" for no comment, "" for 未分類."""
    tm, rt = theme_mentions.c, response_themes.c
    points = connection.execute(
        sa.select(tm.theme_id, tm.polarity).where(tm.run_id == run_id, tm.response_id == response_id)
        .order_by(tm.rank, tm.theme_id)).all()
    if points:
        return format_labels([(code, polarity) for code, polarity in points])
    source = connection.execute(sa.select(rt.source).where(
        rt.run_id == run_id, rt.response_id == response_id)).scalar()
    return NO_CONTENT if source == "no_comment" else ""


def _set_run_labels(connection, run_id, response_ids, labels, names, source=DECISION_SOURCE):
    """Give `response_ids` exactly `labels` in run `run_id` (mentions, main theme, theme rows)."""
    if run_id is None or not response_ids:
        return
    tm, rt, t = theme_mentions.c, response_themes.c, themes_table.c
    points = _parse(labels)
    known = {code: label for code, label in connection.execute(
        sa.select(t.theme_id, t.label).where(t.run_id == run_id))}
    if source != DECISION_SOURCE:  # a model's labels given back: only themes the run still has
        points = [(code, polarity) for code, polarity in points if code in known]
    main = points[0][0] if points else None
    touched = set(code for code, _ in points)
    for start in range(0, len(response_ids), IN_CHUNK):
        chunk = response_ids[start:start + IN_CHUNK]
        old = connection.execute(sa.select(tm.response_id, tm.theme_id, tm.span_start, tm.span_end)
                                 .where(tm.run_id == run_id, tm.response_id.in_(chunk))).all()
        touched.update(code for _, code, _, _ in old)
        spans = {(response_id, code): (s, e) for response_id, code, s, e in old}
        texts = dict(connection.execute(sa.select(masked_responses.c.id, masked_responses.c.comment_masked)
                                        .where(masked_responses.c.id.in_(chunk))).all())
        connection.execute(theme_mentions.delete().where(tm.run_id == run_id, tm.response_id.in_(chunk)))
        rows = []
        for response_id in chunk:
            whole = (0, len(normalize(texts.get(response_id) or "")))
            for rank, (code, polarity) in enumerate(points):
                s, e = spans.get((response_id, code), whole)
                rows.append({"run_id": run_id, "response_id": response_id, "theme_id": code,
                             "polarity": polarity, "span_start": s, "span_end": e, "rank": rank,
                             "score": DECISION_SCORE if source == DECISION_SOURCE else None})
        if rows:
            connection.execute(theme_mentions.insert(), rows)
        if source == DECISION_SOURCE:
            row_source = DECISION_SOURCE if main else "no_comment"
        else:
            row_source = ("no_comment" if labels == NO_CONTENT else "unclassified" if main is None
                          else "discovery" if main.startswith("D") else "catalog")
        connection.execute(response_themes.update().where(
            rt.run_id == run_id, rt.response_id.in_(chunk)).values(
            theme_id=main, source=row_source,
            score=DECISION_SCORE if main and source == DECISION_SOURCE else None))
    for code in touched:
        size = connection.execute(sa.select(sa.func.count()).select_from(theme_mentions).where(
            tm.run_id == run_id, tm.theme_id == code)).scalar_one()
        if code in known:
            connection.execute(themes_table.update().where(t.run_id == run_id, t.theme_id == code)
                               .values(size=size))
        elif size:
            connection.execute(themes_table.insert().values(
                run_id=run_id, theme_id=code, label=names.get(code, code)[:200],
                source="analyst" if code.startswith(ANALYST_PREFIX) else "catalog", size=size,
                words=[], representative_response_ids=[]))


def _latest_run_id(engine):
    """The run holding the latest results' rows (an incremental run's are its base's)."""
    run = latest_run(engine)
    return None if run is None else run["results_run_id"]


def _store(connection, run_id, items, user_id, edit_id=None, response_ids=None,
           theme_labels=None) -> list[int]:
    """Insert decisions for (masked text, canonical labels) pairs and apply them to the run."""
    now = _utcnow()
    by_text = dict(items)
    fps = {text: fingerprint(text) for text in by_text}
    active = _effective(connection, set(fps.values()))
    ids_of = response_ids if response_ids is not None else _response_ids_by_text(connection, by_text)
    names = {**(theme_labels or {}), **_names(connection)}
    rows = []
    for text, labels in by_text.items():
        before = active.get(fps[text])
        if before is not None:
            model_labels = before["model_labels"]
        elif run_id is not None and ids_of.get(text):
            model_labels = _run_labels(connection, run_id, ids_of[text][0])
        else:
            model_labels = None
        rows.append({"fingerprint": fps[text], "comment_masked": unicodedata.normalize("NFKC", text),
                     "labels": labels, "model_labels": model_labels, "edit_id": edit_id,
                     "user_id": user_id, "created_at": now})
    new_ids = []
    for row in rows:  # one by one for their ids on every database
        new_ids.append(connection.execute(theme_decisions.insert().values(**row)
                                          .returning(theme_decisions.c.id)).scalar_one())
    for text, labels in by_text.items():
        _set_run_labels(connection, run_id, ids_of.get(text, []), labels, names)
    return new_ids


def store_decisions(engine, items, user_id=None, theme_labels=None) -> list[int]:
    """Store decisions and apply them at once to every identical comment of the latest run.

    Parameters
    ----------
    engine : Engine or str
    items : iterable of (str, str)
        (masked comment, labels); labels are checked with :func:`normalise_labels`.
    user_id : int, optional
        Who decided (None from the command line).
    theme_labels : dict, optional
        Labels of catalog themes (code -> name) for themes the run has not met yet.

    Returns
    -------
    list of int
        The new decisions' ids.

    Raises
    ------
    DecisionError
        On an empty comment or a bad label set; nothing is stored then.
    """
    engine = get_engine(engine)
    checked = []
    for text, labels in items:
        if not text or not str(text).strip():
            raise DecisionError("a decision needs a comment", "コメントのない回答には判定を付けられません。")
        checked.append((unicodedata.normalize("NFKC", str(text)), normalise_labels(labels)))
    run_id = _latest_run_id(engine)
    with engine.begin() as connection:
        return _store(connection, run_id, checked, user_id, theme_labels=theme_labels)


def _restore(connection, run_id, fingerprint_value, text, undone: dict, names):
    """After undoing `undone`, give the comment the decision now in force, or the model's labels."""
    now_in_force = _effective(connection, [fingerprint_value]).get(fingerprint_value)
    ids = _response_ids_by_text(connection, [text]).get(text, [])
    if now_in_force is not None:
        _set_run_labels(connection, run_id, ids, now_in_force["labels"], names)
    elif undone["model_labels"] is not None:
        _set_run_labels(connection, run_id, ids, undone["model_labels"], names, source="model")


def _undo(connection, run_id, decision_ids, user_id) -> int:
    d = theme_decisions.c
    rows = connection.execute(sa.select(*theme_decisions.c).where(
        d.id.in_(decision_ids), d.undone_at.is_(None))).mappings().all()
    if not rows:
        return 0
    connection.execute(theme_decisions.update().where(d.id.in_([row["id"] for row in rows]))
                       .values(undone_at=_utcnow(), undone_by=user_id))
    names = _names(connection)
    for row in rows:
        _restore(connection, run_id, row["fingerprint"], row["comment_masked"], row, names)
    return len(rows)


def undo_decision(engine, decision_id, user_id=None) -> bool:
    """Undo a decision; the comment takes the one before it, or the model's labels again.

    Returns False when there is no such decision in force.
    """
    engine = get_engine(engine)
    run_id = _latest_run_id(engine)
    with engine.begin() as connection:
        return _undo(connection, run_id, [int(decision_id)], user_id) == 1


# --- theme edits ------------------------------------------------------------------------------


def _next_analyst_code(connection) -> str:
    codes = connection.execute(sa.select(theme_edits.c.theme_id).where(
        theme_edits.c.theme_id.like(f"{ANALYST_PREFIX}%"))).scalars()
    numbers = [int(code[1:]) for code in codes if code[1:].isdigit()]
    return f"{ANALYST_PREFIX}{max(numbers, default=0) + 1:02d}"


def _add_edit(connection, kind, theme_id, user_id, from_theme_id=None, label=None,
              previous_label=None) -> int:
    return connection.execute(theme_edits.insert().values(
        kind=kind, theme_id=theme_id, from_theme_id=from_theme_id, label=label,
        previous_label=previous_label, user_id=user_id, created_at=_utcnow())
        .returning(theme_edits.c.id)).scalar_one()


def _members(connection, run_id, code, response_ids=None) -> dict[str, tuple[str, list[int]]]:
    """Comment text -> (its labels now, response ids) for the run's comments mentioning `code`."""
    tm, r = theme_mentions.c, masked_responses.c
    statement = (sa.select(tm.response_id, r.comment_masked)
                 .select_from(theme_mentions.join(masked_responses, r.id == tm.response_id))
                 .where(tm.run_id == run_id, tm.theme_id == code, r.comment_masked.is_not(None)))
    if response_ids is not None:
        statement = statement.where(tm.response_id.in_([int(i) for i in response_ids]))
    groups: dict[str, list[int]] = {}
    for response_id, text in connection.execute(statement):
        groups.setdefault(text, []).append(response_id)
    return {text: (_run_labels(connection, run_id, ids[0]), ids) for text, ids in groups.items()}


def _replace_code(labels: str, old: str, new: str) -> str:
    points, seen = [], set()
    for code, polarity in _parse(labels):
        code = new if code == old else code
        if code not in seen:
            seen.add(code)
            points.append((code, polarity))
    return format_labels(points)


def _relabel(connection, run_id, members, old, new, user_id, edit_id):
    items = [(text, _replace_code(labels, old, new)) for text, (labels, _ids) in members.items()]
    ids = {text: response_ids for text, (_labels, response_ids) in members.items()}
    # Identical comments outside the theme (none, unless decided apart) follow the text.
    _store(connection, run_id, items, user_id, edit_id=edit_id, response_ids=None if len(items) < 50 else ids)


def _check_label(label) -> str:
    label = " ".join(str(label or "").split())
    if not label:
        raise DecisionError("a theme needs a name", "テーマ名を入力してください。")
    if len(label) > 60:
        raise DecisionError("theme names are at most 60 characters",
                            "テーマ名は60文字以内で入力してください。")
    return label


def _theme_label(connection, run_id, code):
    t = themes_table.c
    return connection.execute(sa.select(t.label).where(t.run_id == run_id, t.theme_id == code)).scalar()


def _require_theme(connection, run_id, code):
    label = _theme_label(connection, run_id, code) if run_id is not None else None
    if label is None:
        raise DecisionError(f"the latest run has no theme {code}", "そのテーマは最新の分析にありません。")
    return label


def _rename(connection, run_id, code, label, user_id) -> tuple[int, str]:
    t = themes_table.c
    previous = _require_theme(connection, run_id, code)
    if code.startswith("D"):
        # A discovered theme's number is the run's: its comments move to a stable analyst code.
        new = _next_analyst_code(connection)
        edit_id = _add_edit(connection, "rename", new, user_id, from_theme_id=code, label=label,
                            previous_label=previous)
        _relabel(connection, run_id, _members(connection, run_id, code), code, new, user_id, edit_id)
        return edit_id, new
    edit_id = _add_edit(connection, "rename", code, user_id, label=label, previous_label=previous)
    connection.execute(themes_table.update().where(t.run_id == run_id, t.theme_id == code).values(label=label))
    return edit_id, code


def rename_theme(engine, code, label, user_id=None) -> tuple[int, str]:
    """Rename a theme of the latest run; return (edit id, the theme's code afterwards).

    A catalog or analyst theme keeps its code. A discovered theme becomes an analyst theme
    (``A01``…) whose comments are decided to it, so the name stays on them in later runs.
    """
    engine = get_engine(engine)
    label = _check_label(label)
    run_id = _latest_run_id(engine)
    with engine.begin() as connection:
        return _rename(connection, run_id, code, label, user_id)


def merge_themes(engine, code, into, user_id=None) -> int:
    """Merge theme `code` into `into` (latest run): its comments are decided to `into`.

    Returns the edit id. A discovered `into` is first named (as :func:`rename_theme` does).
    """
    engine = get_engine(engine)
    run_id = _latest_run_id(engine)
    if code == into:
        raise DecisionError("a theme cannot be merged into itself", "同じテーマには統合できません。")
    with engine.begin() as connection:
        _require_theme(connection, run_id, code)
        target_label = _require_theme(connection, run_id, into)
        if into.startswith("D"):
            _edit, into = _rename(connection, run_id, into, target_label, user_id)
        edit_id = _add_edit(connection, "merge", into, user_id, from_theme_id=code)
        _relabel(connection, run_id, _members(connection, run_id, code), code, into, user_id, edit_id)
        return edit_id


def split_theme(engine, code, response_ids, label, user_id=None) -> tuple[int, str]:
    """Split the chosen comments of theme `code` off into a new analyst theme named `label`.

    Returns (edit id, new code). Identical comments elsewhere follow, as with any decision.
    """
    engine = get_engine(engine)
    label = _check_label(label)
    run_id = _latest_run_id(engine)
    response_ids = [int(i) for i in response_ids or ()]
    if not response_ids:
        raise DecisionError("no comments chosen", "切り出すコメントを選んでください。")
    with engine.begin() as connection:
        _require_theme(connection, run_id, code)
        members = _members(connection, run_id, code, response_ids)
        if not members:
            raise DecisionError("none of the chosen comments mention the theme",
                                "選んだコメントはこのテーマにありません。")
        new = _next_analyst_code(connection)
        edit_id = _add_edit(connection, "split", new, user_id, from_theme_id=code, label=label)
        _relabel(connection, run_id, members, code, new, user_id, edit_id)
        return edit_id, new


def undo_edit(engine, edit_id, user_id=None) -> bool:
    """Undo a theme edit and its decisions; a rename gives the theme its previous name back."""
    engine = get_engine(engine)
    run_id = _latest_run_id(engine)
    e, d, t = theme_edits.c, theme_decisions.c, themes_table.c
    with engine.begin() as connection:
        edit = connection.execute(sa.select(*theme_edits.c).where(
            e.id == int(edit_id), e.undone_at.is_(None))).mappings().first()
        if edit is None:
            return False
        connection.execute(theme_edits.update().where(e.id == edit["id"])
                           .values(undone_at=_utcnow(), undone_by=user_id))
        decision_ids = connection.execute(sa.select(d.id).where(
            d.edit_id == edit["id"], d.undone_at.is_(None))).scalars().all()
        _undo(connection, run_id, decision_ids, user_id)
        if edit["kind"] == "rename" and edit["from_theme_id"] is None and run_id is not None:
            label = _names(connection).get(edit["theme_id"]) or edit["previous_label"]
            connection.execute(themes_table.update().where(
                t.run_id == run_id, t.theme_id == edit["theme_id"]).values(label=label))
        return True


def record_cli_event(engine, action, target) -> None:
    """An audit-log row for a change made from the command line (no user)."""
    with get_engine(engine).begin() as connection:
        connection.execute(audit_events.insert().values(
            occurred_at=_utcnow(), user_id=None, action=action, target=str(target)[:200]))
