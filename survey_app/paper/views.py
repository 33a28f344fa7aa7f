"""Paper pages: print numbered sheets (managers), type answers in (clerks too), upload a file.

Every write is a POST with a CSRF token; bad input gets a 4xx page in Japanese and stores
nothing. Clerks reach these pages and nothing else (`auth.access.REPORT_ROLES`).
"""
from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..errors import handle_csrf_errors
from .. import audit
from ..answers import validate_answers
from ..auth import current_user, roles_required
from ..auth.access import can_enter_paper, paper_facilities
from ..extensions import db
from ..models import Facility
from ..questionnaire import COMMENT, QUESTIONS
from ..reports import exports
from ..survey.forms import FormState, answers_from_form
from . import bp
from .entry import PaperAnswer, PaperConflict, parse_answered_on, store_paper_answers, today_tokyo
from .importer import HEADERS, PaperImportError, import_paper_file, write_template
from .printing import questionnaire_pdf
from .sheets import SheetNumberError, allocate_sheets, parse_sheet_number, sheet_for, shown

# A print run from the web stays well inside a worker's timeout; larger ones: `flask paper`.
WEB_MAX_SHEETS = 50
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
ENTRY_ROLES = ("admin", "manager", "clerk")
PRINT_ROLES = ("admin", "manager")
NOT_ISSUED = "調査票番号「{}」は、入力できる施設の用紙として発行されていません。番号を確かめてください。"


handle_csrf_errors(bp, "paper.entry", "紙の回答の入力へ")


def _bad_request(text: str, status: int = 400):
    return render_template("auth/message.html", title="受け付けられませんでした", text=text,
                           link=(url_for("paper.index"), "紙の調査票へ")), status


@bp.get("/")
@roles_required(*ENTRY_ROLES)
def index():
    return render_template("paper/index.html", facilities=paper_facilities(),
                           can_print=current_user.role in PRINT_ROLES, max_sheets=WEB_MAX_SHEETS,
                           headers=HEADERS)


@bp.post("/print")
@roles_required(*PRINT_ROLES)
def print_sheets():
    code = request.form.get("facility", "")
    facility = db.session.scalar(select(Facility).where(Facility.code == code)) if code else None
    if facility is None or not can_enter_paper(current_user._get_current_object(), facility):
        return _bad_request("施設を一覧から選んでください。")
    text = (request.form.get("sheets") or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= WEB_MAX_SHEETS:
        return _bad_request(f"枚数は1〜{WEB_MAX_SHEETS}の数字で入力してください"
                            "（それより多いときは、コマンド flask paper questionnaire を使ってください）。")
    numbers = allocate_sheets(facility, int(text), current_user.id)
    pdf = questionnaire_pdf(facility, numbers)
    audit.record("paper.print", f"{facility.code} {shown(numbers[0])}–{shown(numbers[-1])}")
    return Response(pdf, mimetype="application/pdf",
                    headers=exports.attachment(f"{facility.code}_questionnaire_{numbers[0]}-{numbers[-1]}.pdf"))


@bp.get("/template.<any(xlsx, csv):kind>")
@roles_required(*ENTRY_ROLES)
def template(kind: str):
    mimetype = ("text/csv; charset=utf-8" if kind == "csv"
                else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(write_template("." + kind), mimetype=mimetype,
                    headers=exports.attachment(f"paper_answers_template.{kind}"))


@bp.post("/import")
@roles_required(*ENTRY_ROLES)
def import_file():
    request.max_content_length = UPLOAD_MAX_BYTES
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("取り込むファイル（Excel または CSV）を選んでください。", "error")
        return redirect(url_for("paper.index"))
    allowed = None if current_user.role == "admin" else {f.id for f in paper_facilities()}
    try:
        created, unchanged = import_paper_file(upload.filename, upload.read(), allowed)
    except PaperImportError as error:
        return render_template("paper/import_errors.html", filename=upload.filename,
                               errors=error.errors), 400
    audit.record("paper.import", upload.filename[:200])
    flash(f"「{upload.filename}」を取り込みました（新しく保存 {created} 件、入力済みで変更なし {unchanged} 件）。",
          "success")
    return redirect(url_for("paper.index"))


def _render_entry(state: FormState, answered_on: str, sheet_number: str = "", errors: dict | None = None,
                  conflict: dict | None = None, status: int = 200):
    return render_template("paper/entry.html", state=state, questions=QUESTIONS, errors=errors or {},
                           answered_on=answered_on, sheet_number=sheet_number, conflict=conflict,
                           comment_max_length=COMMENT.max_length, facilities=paper_facilities()), status


@bp.get("/entry")
@roles_required(*ENTRY_ROLES)
def entry():
    answered_on, problem = parse_answered_on(request.args.get("answered_on", ""))
    return _render_entry(FormState(), (answered_on if not problem else today_tokyo()).isoformat())


@bp.post("/entry")
@roles_required(*ENTRY_ROLES)
def save_entry():
    form = request.form
    errors: dict[str, str] = {}
    number = sheet = None
    try:
        number = parse_sheet_number(form.get("sheet_number", ""))
    except SheetNumberError as error:
        errors["sheet_number"] = str(error)
    if number:
        sheet = sheet_for(number)
        if sheet is None or not can_enter_paper(current_user._get_current_object(), sheet.facility):
            errors["sheet_number"] = NOT_ISSUED.format(shown(number))
    answered_on, problem = parse_answered_on(form.get("answered_on", ""))
    if problem:
        errors["answered_on"] = problem
    validated = validate_answers(answers_from_form(form))
    errors.update(validated.errors)
    state = FormState.from_form(form, errors)
    typed_on = form.get("answered_on", "")[:20]
    if errors:
        return _render_entry(state, typed_on, form.get("sheet_number", "")[:40], errors, status=422)
    try:
        created, _unchanged = store_paper_answers([PaperAnswer(number, sheet, validated.answers, answered_on)])
    except PaperConflict as conflict:
        audit.record("paper.conflict", number)
        return _render_entry(state, typed_on, shown(number), errors, status=409, conflict={
            "number": shown(number), "facility": sheet.facility.name, "stored": conflict.stored,
            "typed": {**validated.answers, "answered_on": answered_on}})
    if created:
        audit.record("paper.entry", number)
        flash(f"調査票「{shown(number)}」（{sheet.facility.name}）を保存しました。次の用紙の番号を入力してください。",
              "success")
    else:
        flash(f"調査票「{shown(number)}」は、同じ内容ですでに入力されています（二重には保存していません）。", "success")
    return redirect(url_for("paper.entry", answered_on=answered_on.isoformat()), 303)


@bp.app_template_filter("paper_answer")
def paper_answer(value, key: str) -> str:
    """An answer as staff read it on the sheet: the printed labels, 「（なし）」 when empty."""
    question = next(q for q in QUESTIONS if q.key == key)
    if question.kind == "multi":
        return "、".join(question.label_of(v) or v for v in value or []) or "（なし）"
    if question.kind == "single":
        return question.label_of(value) or "（なし）" if value is not None else "（なし）"
    return value or "（なし）"


