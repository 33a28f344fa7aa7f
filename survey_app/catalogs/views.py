"""Pages of /themes/catalog/: the versions, one version against the published one, promote a theme.

Analysts and admins only; for anyone else logged in the area does not exist (404). Every write
is a POST with a CSRF token, followed by a redirect (PRG). The long work of a retrain (train,
cross-validate, preview on the latest run) runs in a background thread that stores its
progress on the version's row; the version page polls it.
"""
import json
import threading

from flask import (Response, abort, current_app, flash, redirect, render_template, request, url_for)
from sqlalchemy import select

from analysis import catalog_versions
from analysis.evaluation import FIGURES
from analysis.masking import mask_personal_data
from analysis.store import latest_run, read_mentions

from ..errors import handle_csrf_errors
from ..auth import current_user, roles_or_404
from ..extensions import db
from ..models import Response as SurveyResponse
from . import bp

ANALYST_ROLES = ("analyst", "admin")
IMPORT_MAX_BYTES = 5 * 1024 * 1024
PROMOTE_COMMENTS_SHOWN = 60
STAGES = {"queued": "開始待ち", "train": "学習", "cv": "交差検証（5分割）", "parent_cv": "元の版の交差検証",
          "preview": "最新の分析結果での変化の確認", "done": "完了", "failed": "失敗"}
STATUS_LABELS = {"training": "学習中", "ready": "完了", "failed": "失敗"}


# Logged-in analysts and admins; to others the area does not exist (404).
analysts_only = roles_or_404(*ANALYST_ROLES)


handle_csrf_errors(bp, "catalogs.index", "テーマカタログへ")


@bp.app_template_filter("figure")
def _figure(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _engine():
    return db.engine


def _version_or_404(version_id: int) -> dict:
    version = catalog_versions.get_version(_engine(), version_id)
    if version is None:
        abort(404)
    return version


def _current() -> dict:
    """The published version, else the stored shipped catalog (what the next run uses)."""
    published = catalog_versions.published_catalog(_engine())
    if published is not None:
        return published
    return catalog_versions.get_version(_engine(), catalog_versions.ensure_shipped_version(_engine()))


def _start_in_background(version_id: int) -> None:
    app = current_app._get_current_object()
    engine = _engine()
    jobs = app.config["CATALOG_RETRAIN_JOBS"]

    def work():
        try:
            catalog_versions.run_retrain(engine, version_id, n_jobs=jobs)
        except Exception:  # stored on the row as failed; the log names only the version
            app.logger.exception("catalog retrain of version %s failed", version_id)

    threading.Thread(target=work, name=f"catalog-retrain-{version_id}", daemon=True).start()


@bp.get("/")
@analysts_only
def index():
    current = _current()
    return render_template("catalogs/index.html", versions=catalog_versions.list_versions(_engine()),
                           current=current, status_labels=STATUS_LABELS,
                           n_decisions=len(catalog_versions.decision_examples(_engine())))


@bp.post("/retrain")
@analysts_only
def retrain():
    note = (request.form.get("note") or "").strip()
    try:
        version_id = catalog_versions.start_retrain(
            _engine(), extra_examples=catalog_versions.decision_examples(_engine()),
            created_by=current_user.username, note=note or "判断を反映して再学習", user_id=current_user.id)
    except catalog_versions.CatalogError as error:
        flash(error.ja, "error")
        return redirect(url_for("catalogs.index"))
    _start_in_background(version_id)
    return redirect(url_for("catalogs.version", version_id=version_id))


@bp.get("/<int:version_id>")
@analysts_only
def version(version_id: int):
    version = _version_or_404(version_id)
    current = _current()
    parent = catalog_versions.get_version(_engine(), version["parent_id"]) if version["parent_id"] else None
    return render_template(
        "catalogs/version.html", version=version, current=current, parent=parent,
        figures=FIGURES, stages=STAGES, status_labels=STATUS_LABELS,
        is_restore=current is not None and version["id"] < current["id"],
        diff=catalog_versions.diff_catalogs(current["catalog"], version["catalog"]) if current else None)


@bp.get("/<int:version_id>/progress")
@analysts_only
def progress(version_id: int):
    version = _version_or_404(version_id)
    state = version["progress"] or {}
    return {"status": version["status"], "stage": state.get("stage"),
            "stage_label": STAGES.get(state.get("stage"), ""), "done": state.get("done", 0),
            "total": state.get("total", 1)}


@bp.post("/<int:version_id>/publish")
@analysts_only
def publish(version_id: int):
    _version_or_404(version_id)
    try:
        action = catalog_versions.publish(_engine(), version_id, catalog_file=current_app.config["CATALOG_FILE"],
                                          user_id=current_user.id)
    except catalog_versions.CatalogError as error:
        flash(error.ja, "error")
        return redirect(url_for("catalogs.version", version_id=version_id))
    except OSError:
        current_app.logger.exception("cannot write the published catalog file")
        flash("カタログのファイルを書き込めなかったため、公開していません。管理者にお知らせください。", "error")
        return redirect(url_for("catalogs.version", version_id=version_id))
    label = catalog_versions.get_version(_engine(), version_id)["label"]
    flash(f"版 {label} に戻しました。次の分析から使われます。" if action == "catalog.restore"
          else f"版 {label} を公開しました。次の分析から使われます。", "success")
    return redirect(url_for("catalogs.index"))


@bp.get("/<int:version_id>/export")
@analysts_only
def export(version_id: int):
    version = _version_or_404(version_id)
    body = json.dumps(version["catalog"], ensure_ascii=False, indent=2) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="catalog-{version["label"]}.json"'})


@bp.get("/diff")
@analysts_only
def diff():
    try:
        old_id, new_id = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        abort(404)
    old, new = _version_or_404(old_id), _version_or_404(new_id)
    return render_template("catalogs/diff.html", old=old, new=new,
                           diff=catalog_versions.diff_catalogs(old["catalog"], new["catalog"]))


@bp.post("/import")
@analysts_only
def import_file():
    request.max_content_length = IMPORT_MAX_BYTES
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("取り込むカタログのファイル（JSON）を選んでください。", "error")
        return redirect(url_for("catalogs.index"))
    try:
        version_id = catalog_versions.import_catalog(
            _engine(), upload.read(), created_by=current_user.username,
            note=(request.form.get("note") or "").strip(), user_id=current_user.id)
    except catalog_versions.CatalogError as error:
        return render_template("catalogs/import_error.html", filename=upload.filename, message=error.ja), 400
    flash(f"「{upload.filename}」を新しい版として取り込みました。内容を確かめてから公開してください。", "success")
    return redirect(url_for("catalogs.version", version_id=version_id))


def _discovered_themes(mentions) -> list[dict]:
    found = mentions[mentions["theme_id"].str.startswith("D")]
    counts = found.groupby(["theme_id", "theme_label"]).size().reset_index(name="count")
    return counts.sort_values("theme_id").to_dict("records")


def _theme_comments(mentions, theme_id: str) -> list[dict]:
    """The distinct comments of a discovered theme, masked (surveys repeat a lot), at most 60."""
    rows = mentions[mentions["theme_id"] == theme_id]
    ids = [int(i) for i in rows["response_id"]]
    texts = dict(db.session.execute(select(SurveyResponse.id, SurveyResponse.comment)
                                    .where(SurveyResponse.id.in_(ids))).all())
    comments = {}
    for row in rows.itertuples():
        text = mask_personal_data(texts.get(int(row.response_id)) or "")
        if text not in comments:
            comments[text] = {"response_id": int(row.response_id), "polarity": row.polarity, "text": text}
        if len(comments) == PROMOTE_COMMENTS_SHOWN:
            break
    return list(comments.values())


def _labels(mentions, response_id: int, discovered: str, theme_id: str, codes: set) -> str:
    """The response's mentions in the run, the discovered theme renamed, kept only if in the catalog."""
    parts = []
    for row in mentions[mentions["response_id"] == response_id].itertuples():
        code = theme_id if row.theme_id == discovered else row.theme_id
        if code in codes or code == theme_id:
            parts.append(f"{code}:{'P' if row.polarity == 'praise' else 'R'}")
    return ";".join(parts)


def _next_theme_id(catalog: dict) -> str:
    numbers = [int(t["code"][1:]) for t in catalog["themes"] if catalog_versions.THEME_ID_PATTERN.match(t["code"])]
    return f"T{max(numbers, default=0) + 1:02d}"


@bp.route("/promote", methods=["GET", "POST"])
@analysts_only
def promote():
    """Promote a discovered theme of the latest run into the catalog: a new candidate version."""
    run = latest_run(_engine())
    current = _current()
    mentions = read_mentions(_engine(), run["id"]) if run else None
    themes = _discovered_themes(mentions) if run else []
    chosen = request.values.get("theme", "")
    if chosen and chosen not in {t["theme_id"] for t in themes}:
        abort(404)
    form = {"theme_id": request.form.get("theme_id", _next_theme_id(current["catalog"])),
            "name": request.form.get("name", next((t["theme_label"] for t in themes if t["theme_id"] == chosen), "")),
            "description": request.form.get("description", "")}
    comments = _theme_comments(mentions, chosen) if chosen else []
    error = None
    if request.method == "POST" and chosen:
        selected = {int(v) for v in request.form.getlist("response") if v.isdigit()}
        codes = {t["code"] for t in current["catalog"]["themes"]}
        theme_id = form["theme_id"].strip().upper()
        examples = [{"comment": c["text"], "labels": _labels(mentions, c["response_id"], chosen, theme_id, codes)}
                    for c in comments if c["response_id"] in selected]
        try:
            promoted = catalog_versions.promote_theme(current["catalog"], theme_id, form["name"],
                                                      form["description"], examples)
            version_id = catalog_versions.start_retrain(
                _engine(), current["id"], catalog_versions.decision_examples(_engine()),
                created_by=current_user.username, catalog=promoted, user_id=current_user.id,
                note=f"{chosen} を {theme_id}「{form['name'].strip()}」としてカタログに追加")
        except catalog_versions.CatalogError as failure:
            error = failure.ja
        else:
            _start_in_background(version_id)
            return redirect(url_for("catalogs.version", version_id=version_id))
    return render_template("catalogs/promote.html", run=run, themes=themes, chosen=chosen, comments=comments,
                           form=form, error=error, selected=set(request.form.getlist("response"))), (
        400 if error else 200)

