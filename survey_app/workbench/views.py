"""Workbench pages (analysts and admins; 404 for everyone else): themes, comments, decisions.

Every change goes through `analysis.decisions`, which stores it and applies it to the latest run
at once, and is written to the audit log (ids and theme codes, never comment text).
"""
import re

from flask import abort, flash, redirect, render_template, request, url_for
import sqlalchemy as sa

from analysis import decisions
from analysis.mentions import format_labels

from ..errors import handle_csrf_errors
from .. import audit
from ..auth import current_user, roles_or_404
from ..auth.access import safe_next_url
from ..extensions import db
from ..inputs import int_arg
from ..models import Theme, ThemeDecision, ThemeEdit, User
from ..reports import charts
from . import bp, queries

ROLES = ("admin", "analyst")
CODE_PATTERN = re.compile(r"^[A-Z][0-9]{2,4}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
POLARITY_LABELS = {"praise": "評価", "request": "要望"}
MAX_LABEL_ROWS = 4  # a comment makes at most four points (analysis.mentions.MAX_MENTIONS)
SEARCH_MAX_LENGTH = 100
HISTORY_ROWS = 100


handle_csrf_errors(bp, "workbench.index", "テーマ一覧へ")


def _refuse(message: str, back: str | None = None):
    """400 with the reason in Japanese; nothing was stored."""
    return render_template("auth/message.html", title="保存できませんでした", text=message,
                           link=(back or url_for("workbench.index"), "元の画面へ戻る")), 400


def _run_or_none():
    return queries.current_run()


def _back_url() -> str:
    target = safe_next_url(request.form.get("next"))
    return target if target and target.startswith("/themes/") else url_for("workbench.index")


@bp.app_template_filter("polarity_label")
def _polarity_label(value) -> str:
    return POLARITY_LABELS.get(value, "")


@bp.get("/")
@roles_or_404(*ROLES)
def index():
    run = _run_or_none()
    themes = queries.theme_list(run) if run else []
    return render_template("workbench/index.html", run=run, themes=themes, charts=charts)


def _filters() -> queries.CommentFilters:
    facility = request.args.get("facility") or None
    month = request.args.get("month") or None
    polarity = request.args.get("polarity") or None
    text = " ".join((request.args.get("q") or "").split())[:SEARCH_MAX_LENGTH] or None
    page = int_arg("page") or 1
    return queries.CommentFilters(
        facility=facility if facility and len(facility) <= 64 else None,
        month=month if month and MONTH.match(month) else None,
        polarity=polarity if polarity in POLARITY_LABELS else None,
        text=text, page=max(page, 1))


def _theme_or_404(run, code: str):
    if run is None:
        abort(404)
    if code == queries.UNCLASSIFIED:
        return {"theme_id": code, "label": queries.UNCLASSIFIED_LABEL, "source": "unclassified"}
    if not CODE_PATTERN.match(code):
        abort(404)
    theme = db.session.execute(sa.select(Theme.theme_id, Theme.label, Theme.source).where(
        Theme.run_id == run["results_run_id"], Theme.theme_id == code)).first()
    if theme is None:
        abort(404)
    return {"theme_id": theme.theme_id, "label": theme.label, "source": theme.source}


@bp.get("/<code>")
@roles_or_404(*ROLES)
def theme(code):
    run = _run_or_none()
    theme = _theme_or_404(run, code)
    filters = _filters()
    page = queries.theme_comments(run, code, filters)
    choices = queries.theme_choices(run)
    return render_template(
        "workbench/theme.html", run=run, theme=theme, filters=filters, page=page,
        choices=choices, labels=dict(choices), months=queries.run_months(run), facilities=queries.facility_choices(),
        max_rows=MAX_LABEL_ROWS, polarity_labels=POLARITY_LABELS,
        here=url_for("workbench.theme", code=code, **filters.query_args(page=page.page)))


def _run_codes(run) -> dict[str, str]:
    return dict(db.session.execute(sa.select(Theme.theme_id, Theme.label).where(Theme.run_id == run["results_run_id"])).all())


def _chosen_labels(run) -> str:
    """The label set the decision form asks for, in canonical form (DecisionError if bad)."""
    if request.form.get("action") == "no_content":
        return decisions.NO_CONTENT
    codes = {**dict(queries.theme_choices(run)), **_run_codes(run)}
    points = []
    for index in range(MAX_LABEL_ROWS):
        code = (request.form.get(f"theme_{index}") or "").strip().upper()
        polarity = request.form.get(f"polarity_{index}") or ""
        if not code:
            continue
        if code not in codes:
            raise decisions.DecisionError(f"unknown theme {code}", "選んだテーマは最新の分析にありません。")
        if polarity not in POLARITY_LABELS:
            raise decisions.DecisionError("no polarity", "各テーマに「評価」か「要望」を選んでください。")
        if code.startswith("D"):
            # A discovered theme is named first (its number is the run's), then chosen.
            edit_id, code = decisions.rename_theme(db.engine, code, codes[code], current_user.id)
            audit.record("workbench.theme_renamed", f"edit:{edit_id} {code}")
        points.append((code, polarity))
    return decisions.normalise_labels(format_labels(points))


@bp.post("/decide")
@roles_or_404(*ROLES)
def decide():
    run = _run_or_none()
    back = _back_url()
    response_id = request.form.get("response_id", "")
    text = queries.response_text(int(response_id)) if response_id.isdigit() and len(response_id) < 12 else None
    if run is None or not text:
        return _refuse("このコメントは見つかりませんでした。", back)
    try:
        labels = _chosen_labels(run)
        [decision_id] = decisions.store_decisions(db.engine, [(text, labels)], current_user.id,
                                                  theme_labels=queries.catalog_names(run))
    except decisions.DecisionError as error:
        return _refuse(error.ja, back)
    audit.record("workbench.decision", f"decision:{decision_id} {labels}")
    flash("判定を保存しました。同じ内容のコメントすべてに反映されます。", "success")
    return redirect(back, 303)


@bp.post("/decisions/<int:decision_id>/undo")
@roles_or_404(*ROLES)
def undo_decision(decision_id):
    back = _back_url()
    if not decisions.undo_decision(db.engine, decision_id, current_user.id):
        return _refuse("この判定はすでに取り消されているか、見つかりません。", back)
    audit.record("workbench.decision_undone", f"decision:{decision_id}")
    flash("判定を取り消しました。", "success")
    return redirect(back, 303)


@bp.post("/<code>/rename")
@roles_or_404(*ROLES)
def rename(code):
    run = _run_or_none()
    _theme_or_404(run, code)
    try:
        edit_id, new_code = decisions.rename_theme(db.engine, code, request.form.get("label"),
                                                   current_user.id)
    except decisions.DecisionError as error:
        return _refuse(error.ja, url_for("workbench.theme", code=code))
    audit.record("workbench.theme_renamed", f"edit:{edit_id} {code}→{new_code}")
    flash("テーマ名を変更しました。", "success")
    return redirect(url_for("workbench.theme", code=new_code), 303)


@bp.post("/<code>/merge")
@roles_or_404(*ROLES)
def merge(code):
    run = _run_or_none()
    _theme_or_404(run, code)
    into = (request.form.get("into") or "").strip().upper()
    if into not in _run_codes(run) or into == code:
        return _refuse("統合先のテーマを選んでください。", url_for("workbench.theme", code=code))
    try:
        edit_id = decisions.merge_themes(db.engine, code, into, current_user.id)
    except decisions.DecisionError as error:
        return _refuse(error.ja, url_for("workbench.theme", code=code))
    target = db.session.scalar(sa.select(ThemeEdit.theme_id).where(ThemeEdit.id == edit_id))
    audit.record("workbench.theme_merged", f"edit:{edit_id} {code}→{target}")
    flash("テーマを統合しました。", "success")
    return redirect(url_for("workbench.theme", code=target), 303)


@bp.post("/<code>/split")
@roles_or_404(*ROLES)
def split(code):
    run = _run_or_none()
    _theme_or_404(run, code)
    ids = [value for value in request.form.getlist("response_id") if value.isdigit() and len(value) < 12]
    try:
        edit_id, new_code = decisions.split_theme(db.engine, code, ids, request.form.get("label"),
                                                  current_user.id)
    except decisions.DecisionError as error:
        return _refuse(error.ja, url_for("workbench.theme", code=code))
    audit.record("workbench.theme_split", f"edit:{edit_id} {code}→{new_code}")
    flash(f"選んだコメントを新しいテーマ（{new_code}）に切り出しました。", "success")
    return redirect(url_for("workbench.theme", code=new_code), 303)


@bp.post("/edits/<int:edit_id>/undo")
@roles_or_404(*ROLES)
def undo_edit(edit_id):
    if not decisions.undo_edit(db.engine, edit_id, current_user.id):
        return _refuse("この編集はすでに取り消されているか、見つかりません。", url_for("workbench.history"))
    audit.record("workbench.edit_undone", f"edit:{edit_id}")
    flash("テーマの編集を取り消しました。", "success")
    return redirect(url_for("workbench.history"), 303)


@bp.get("/history")
@roles_or_404(*ROLES)
def history():
    rows = db.session.scalars(sa.select(ThemeDecision).where(ThemeDecision.edit_id.is_(None))
                              .order_by(ThemeDecision.id.desc()).limit(HISTORY_ROWS)).all()
    edits = db.session.scalars(sa.select(ThemeEdit).order_by(ThemeEdit.id.desc()).limit(HISTORY_ROWS)).all()
    ids = {row.user_id for row in [*rows, *edits] if row.user_id}
    users = dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())
    return render_template("workbench/history.html", decisions=rows, edits=edits, users=users)
