"""Admin pages for yearly targets: the year's achievement, editing one facility-year, upload.

Admins only. Every write is a POST with a CSRF token, followed by a redirect (PRG).
"""
import pandas as pd
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from analysis.achievement import SEED_FY2012, STATUS_LABELS, indicator_met

from ..errors import handle_csrf_errors
from .. import audit
from ..auth import facility_or_404, roles_required
from ..extensions import db
from ..inputs import int_arg
from ..models import OPERATOR_KINDS, Facility, Target
from ..fiscal_years import default_fiscal_year, year_choices, years_with_data
from ..prefectures import facility_key, prefecture_key, sorted_prefectures
from ..timeutil import fiscal_year_label
from . import bp
from .importer import (DIRECTIONS, INDICATORS, TargetImportError, parse_number,
                       read_targets_bytes, upsert_targets)
from .queries import facility_achievement, fiscal_years, national_summary

# Uploads may be larger than the app-wide limit, which is sized for survey answers.
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
KIND_LABELS = {"count": "件数・人数", "rate": "割合"}
FISCAL_YEAR_RANGE = range(1990, 2101)


handle_csrf_errors(bp, "targets.index", "目標と実績へ")


@bp.app_template_filter("target_number")
def _format_number(value) -> str:
    """Show 10941.0 as 10,941 and 66.7 as 66.7; missing values as —."""
    if value is None or value != value:
        return "—"
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"


def _input_number(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@bp.get("/")
@roles_required("admin")
def index():
    years = years_with_data()
    fiscal_year = int_arg("fy")
    if fiscal_year not in FISCAL_YEAR_RANGE:
        fiscal_year = default_fiscal_year(fiscal_years() or years)
    prefecture = request.args.get("prefecture") or None
    operator_kind = request.args.get("operator_kind") or None
    if operator_kind not in OPERATOR_KINDS:
        operator_kind = None
    summary = national_summary(fiscal_year, prefecture, operator_kind)
    facilities = facility_achievement(fiscal_year, prefecture=prefecture, operator_kind=operator_kind)
    all_facilities = sorted(db.session.scalars(select(Facility)), key=facility_key)
    rows = sorted(facilities.to_dict("records"),
                  key=lambda row: (*prefecture_key(row["prefecture"]), row["facility_code"]))
    return render_template(
        "targets/index.html", fiscal_year=fiscal_year, fiscal_year_label=fiscal_year_label,
        years=year_choices(years, fiscal_year), prefecture=prefecture,
        operator_kind=operator_kind, operator_kinds=OPERATOR_KINDS,
        prefectures=sorted_prefectures(f.prefecture for f in all_facilities),
        summary=summary.to_dict("records")[0] if not summary.empty else None,
        facilities=rows, all_facilities=all_facilities,
        status_labels=STATUS_LABELS,
        seed=SEED_FY2012 if fiscal_year == SEED_FY2012["fiscal_year"] else None)


@bp.get("/open")
@roles_required("admin")
def open_facility_year():
    """Go from the picker on the list page to one facility-year's edit page."""
    code = request.args.get("facility_code", "")
    fiscal_year = int_arg("fy")
    if not code or fiscal_year not in FISCAL_YEAR_RANGE:
        flash("施設と年度を選んでください。", "error")
        return redirect(url_for("targets.index"))
    return redirect(url_for("targets.edit", facility_code=code, fiscal_year=fiscal_year))


def _parse_number(text: str, kind: str, label: str, required: bool, errors: list[str]):
    text = (text or "").strip()
    if not text:
        if required:
            errors.append(f"{label}を入力してください。")
        return None
    try:
        value = parse_number(text)
    except ValueError:
        errors.append(f"{label}「{text}」は数値ではありません。")
        return None
    if value < 0:
        errors.append(f"{label}に負の数は入力できません。")
    elif kind == "rate" and value > 100:
        errors.append(f"{label}は0〜100（%）で入力してください。")
    return value


def _edit_rows(targets: list[Target], form=None) -> list[dict]:
    """Return what the edit table shows: stored values, or the submitted ones on an error."""
    rows = []
    for t in targets:
        met = indicator_met_one(t)
        row = {"id": t.id, "name": t.indicator_name, "key": t.indicator_key, "kind": t.kind,
               "kind_label": KIND_LABELS.get(t.kind, t.kind), "updated_at": t.updated_at,
               "unit": t.unit, "met": met, "direction": t.direction,
               "target": _input_number(t.target), "result": _input_number(t.result),
               "note": t.note or "", "delete": False}
        if form is not None:
            row.update(target=form.get(f"target-{t.id}", ""), result=form.get(f"result-{t.id}", ""),
                       note=form.get(f"note-{t.id}", ""),
                       direction=form.get(f"direction-{t.id}", t.direction),
                       delete=bool(form.get(f"delete-{t.id}")))
        rows.append(row)
    return rows


def indicator_met_one(t: Target):
    """Return True/False/None for one stored target."""
    met = indicator_met(pd.DataFrame([{"target": t.target, "result": t.result,
                                       "direction": t.direction}]))[0]
    return None if pd.isna(met) else bool(met)


@bp.route("/<facility_code>/<int:fiscal_year>", methods=["GET", "POST"])
@roles_required("admin")
def edit(facility_code: str, fiscal_year: int):
    facility = facility_or_404(facility_code)
    if fiscal_year not in FISCAL_YEAR_RANGE:
        abort(404)
    targets = db.session.scalars(
        select(Target).where(Target.facility_id == facility.id, Target.fiscal_year == fiscal_year)
        .order_by(Target.id)).all()
    used = {t.indicator_key for t in targets}
    available = [i for key, i in INDICATORS.items() if key not in used]
    errors: list[str] = []
    new = {"key": "", "target": "", "result": "", "note": "", "direction": "higher"}

    if request.method == "POST":
        form = request.form
        changes = []
        for t in targets:
            if form.get(f"delete-{t.id}"):
                changes.append((t, None))
                continue
            label = t.indicator_name
            value_target = _parse_number(form.get(f"target-{t.id}"), t.kind, f"{label}の目標", True, errors)
            value_result = _parse_number(form.get(f"result-{t.id}"), t.kind, f"{label}の実績", False, errors)
            direction = form.get(f"direction-{t.id}", t.direction)
            if direction not in DIRECTIONS:
                errors.append(f"{label}の判定方法が正しくありません。")
            note = (form.get(f"note-{t.id}") or "").strip() or None
            changes.append((t, {"target": value_target, "result": value_result,
                                "direction": direction, "note": note}))
        new = {k: (form.get(f"new-{k}") or "").strip() for k in ("key", "target", "result", "note", "direction")}
        new_row = None
        if new["key"]:
            indicator = INDICATORS.get(new["key"])
            if indicator is None or new["key"] in used:
                errors.append("追加する指標を一覧から選んでください。")
            elif (new["direction"] or "higher") not in DIRECTIONS:
                errors.append("追加する指標の判定方法が正しくありません。")
            else:
                name, kind = indicator.name, indicator.kind
                value_target = _parse_number(new["target"], kind, f"{name}の目標", True, errors)
                value_result = _parse_number(new["result"], kind, f"{name}の実績", False, errors)
                new_row = {"facility_id": facility.id, "fiscal_year": fiscal_year,
                           "indicator_key": indicator.key, "indicator_name": indicator.name,
                           "kind": indicator.kind, "unit": indicator.unit,
                           "direction": new["direction"] or "higher",
                           "target": value_target, "result": value_result,
                           "note": new["note"] or None}
        elif new["target"] or new["result"]:
            errors.append("追加する指標を選んでください。")
        if not errors:
            for t, values in changes:
                if values is None:
                    db.session.delete(t)
                else:
                    for key, value in values.items():
                        setattr(t, key, value)
            if new_row:
                upsert_targets([new_row])  # commits
            db.session.commit()
            audit.record("targets.edit", f"{facility.code} {fiscal_year}")
            flash("目標と実績を保存しました。", "success")
            return redirect(url_for("targets.edit", facility_code=facility.code, fiscal_year=fiscal_year))
        db.session.rollback()

    return render_template(
        "targets/edit.html", facility=facility, fiscal_year=fiscal_year,
        fiscal_year_label=fiscal_year_label,
        rows=_edit_rows(targets, request.form if errors else None),
        available=available, new=new, errors=errors, directions=DIRECTIONS,
        status=_facility_status(targets), status_labels=STATUS_LABELS), (400 if errors else 200)


def _facility_status(targets: list[Target]) -> str | None:
    met = [m for m in (indicator_met_one(t) for t in targets) if m is not None]
    if not met:
        return None
    if all(met):
        return "achieved"
    return "partly" if any(met) else "not_achieved"


@bp.post("/import")
@roles_required("admin")
def import_file():
    request.max_content_length = UPLOAD_MAX_BYTES
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("取り込むファイル（CSV または Excel）を選んでください。", "error")
        return redirect(url_for("targets.index"))
    try:
        rows = read_targets_bytes(upload.filename, upload.read())
    except TargetImportError as error:
        return render_template("targets/import_errors.html", filename=upload.filename,
                               errors=error.errors), 400
    created, updated = upsert_targets(rows)
    audit.record("targets.import", upload.filename[:200])
    flash(f"「{upload.filename}」を取り込みました（追加 {created} 件、更新 {updated} 件）。", "success")
    years = sorted({r["fiscal_year"] for r in rows})
    return redirect(url_for("targets.index", fy=years[-1]) if years else url_for("targets.index"))
