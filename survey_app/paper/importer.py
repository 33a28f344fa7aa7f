"""Paper answers typed into a spreadsheet: the template, and an import that is all or nothing.

Columns (Japanese headers in the template; the English keys are read too):
``sheet_number`` 調査票番号, ``facility`` 施設 (code or name, optional: the number tells it),
``answered_on`` 記入日, ``satisfaction`` 満足度, ``establishment`` 施設ができてよかったか,
``respondent_group`` 支援対象者, ``services`` 利用したサービス (「、」 between several),
``comment`` ご意見・ご要望. A choice is its label as printed (「まあ満足」) or its code (2).
Every problem names its row and column; one bad row and nothing is stored. Sheets already
stored alike are left alone, so importing a file again changes nothing.
"""
import csv
import io
import re
import unicodedata

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from ..answers import validate_answers
from ..extensions import db
from ..models import Facility
from ..questionnaire import QUESTIONS, QUESTIONS_BY_KEY
from ..tables import TableError, decode_text, is_excel_name, read_csv_records, read_xlsx_records
from .entry import PaperAnswer, PaperConflict, parse_answered_on, store_paper_answers
from .sheets import SheetNumberError, parse_sheet_number, sheet_for, shown

SHEET_NAME = "紙の回答"
HEADERS = {
    "sheet_number": "調査票番号",
    "facility": "施設",
    "answered_on": "記入日",
    "satisfaction": "満足度",
    "establishment": "施設ができてよかったか",
    "respondent_group": "支援対象者",
    "services": "利用したサービス",
    "comment": "ご意見・ご要望",
}
REQUIRED = ("sheet_number", "answered_on", "satisfaction", "establishment")
SEPARATORS = re.compile(r"[、,，;；\n]+")
MAX_REPORTED_ERRORS = 30
UPLOAD_MAX_ROWS = 5000


class PaperImportError(ValueError):
    """A file that cannot be imported; ``errors`` lists every problem (row and column)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown_errors = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown_errors)
        super().__init__("\n".join(shown_errors) + (f"\n…ほか{more}件" if more > 0 else "")
                         + "\n何も取り込んでいません。")


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _choice_value(question, text: str):
    """The value of a choice typed as its code or label; the text itself when none matches."""
    wanted = _normal(text)
    for choice in question.choices:
        if wanted in (str(choice.value), _normal(choice.label), _normal(choice.text)):
            return choice.value
    return wanted


def _choice_help(question) -> str:
    return "、".join(f"{c.label}（{c.value}）" for c in question.choices)


def _columns(header: list[str]) -> dict[str, str]:
    """Map each known column key to the header the file uses for it."""
    found = {}
    for name in header:
        normal = _normal(name)
        for key, japanese in HEADERS.items():
            if normal in (key, japanese):
                found.setdefault(key, name)
    return found


def _facility_lookup() -> dict[str, Facility]:
    facilities = db.session.scalars(select(Facility)).all()
    return {**{_normal(f.name): f for f in facilities}, **{f.code: f for f in facilities}}


def parse_rows(header: list[str], records: list[tuple[int, dict]],
               allowed_facility_ids: set[int] | None = None) -> tuple[list[PaperAnswer], dict[str, int]]:
    """Validate every row; return the answers and the row of each sheet, or raise PaperImportError.

    ``allowed_facility_ids``: the facilities the importing user may enter for (None: all).
    """
    columns = _columns(header)
    missing = [HEADERS[key] for key in REQUIRED if key not in columns]
    if missing:
        raise PaperImportError([f"1行目: 列がありません: {'、'.join(missing)}"
                                f"（必要な列: {'、'.join(HEADERS.values())}）"])
    if len(records) > UPLOAD_MAX_ROWS:
        raise PaperImportError([f"行が多すぎます（{len(records):,}行）。{UPLOAD_MAX_ROWS:,}行までに分けてください。"])
    facilities = _facility_lookup()
    errors: list[str] = []
    by_number: dict[str, PaperAnswer] = {}
    rows_of: dict[str, int] = {}
    for number, row in records:
        def cell(key: str) -> str:
            return row.get(columns[key], "") if key in columns else ""

        def fail(key: str, message: str):
            errors.append(f"{number}行目「{columns.get(key, HEADERS[key])}」列: {message}")

        before = len(errors)
        sheet = sheet_number = None
        try:
            sheet_number = parse_sheet_number(cell("sheet_number"))
        except SheetNumberError as error:
            fail("sheet_number", str(error))
        if sheet_number:
            sheet = sheet_for(sheet_number)
            if sheet is None or (allowed_facility_ids is not None and sheet.facility_id not in allowed_facility_ids):
                fail("sheet_number", f"調査票番号「{shown(sheet_number)}」は、入力できる施設の用紙として発行されていません。")
                sheet = None
        named = _normal(cell("facility"))
        if named and sheet is not None:
            facility = facilities.get(named)
            if facility is None:
                fail("facility", f"施設「{named}」が見つかりません（施設コードか施設名を入力してください）。")
            elif facility.id != sheet.facility_id:
                fail("facility", f"調査票「{shown(sheet_number)}」は「{sheet.facility.name}」の用紙です"
                                 f"（この行は「{facility.name}」）。")
        answered_on, message = parse_answered_on(cell("answered_on"))
        if message:
            fail("answered_on", message)

        raw = {}
        for question in QUESTIONS:
            text = cell(question.key)
            if question.kind == "single":
                raw[question.key] = _choice_value(question, text) if _normal(text) else None
            elif question.kind == "multi":
                raw[question.key] = [_choice_value(question, part) for part in SEPARATORS.split(text) if _normal(part)]
            else:
                raw[question.key] = text
        validated = validate_answers(raw)
        for key, message in validated.errors.items():
            question = QUESTIONS_BY_KEY.get(key)
            if question is not None and question.choices and "選択肢" in message:
                message = f"選択肢にありません。次のどれかを入力してください: {_choice_help(question)}"
            fail(key if key in HEADERS else "sheet_number", message)

        if sheet_number and sheet_number in rows_of:
            first = by_number.get(sheet_number)
            if len(errors) == before and (first is None or (first.answers, first.answered_on)
                                          != (validated.answers, answered_on)):
                fail("sheet_number", f"調査票「{shown(sheet_number)}」が{rows_of[sheet_number]}行目と重なっていて、"
                                     "内容が違います。")
            continue  # the same sheet typed twice alike is one answer
        if sheet_number:
            rows_of[sheet_number] = number
        if len(errors) == before:
            by_number[sheet_number] = PaperAnswer(sheet_number, sheet, validated.answers, answered_on)
    if errors:
        raise PaperImportError(errors)
    if not by_number:
        raise PaperImportError(["取り込む行がありません（2行目から回答を入力してください）。"])
    return list(by_number.values()), rows_of


def read_rows(name: str, raw: bytes) -> tuple[list[str], list[tuple[int, dict]]]:
    try:
        if is_excel_name(name):
            return read_xlsx_records(io.BytesIO(raw), SHEET_NAME)
        return read_csv_records(decode_text(raw))
    except TableError:
        raise PaperImportError(["ファイルを読めません。Excel（.xlsx）か、UTF-8 または Shift_JIS の CSV で保存してください。"])


def import_paper_file(name: str, raw: bytes, allowed_facility_ids: set[int] | None = None) -> tuple[int, int]:
    """Validate and store a whole file; return (stored, already stored alike)."""
    header, records = read_rows(name, raw)
    answers, rows_of = parse_rows(header, records, allowed_facility_ids)
    try:
        return store_paper_answers(answers)
    except PaperConflict as conflict:
        raise PaperImportError([
            f"{rows_of[conflict.number]}行目「{HEADERS['sheet_number']}」列: 調査票「{shown(conflict.number)}」は、"
            "すでに別の内容で入力されています。用紙と入力済みの内容を確かめてください。"])


# ---------------------------------------------------------------------------- the template

def _choices_sheet(workbook: Workbook) -> None:
    sheet = workbook.create_sheet("選択肢")
    sheet.append(["列", "列名（英語）", "入力する値", "コード"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for key, header in HEADERS.items():
        question = QUESTIONS_BY_KEY.get(key)
        if question is not None and question.choices:
            for choice in question.choices:
                sheet.append([header, key, choice.label, str(choice.value)])
        else:
            hint = {"sheet_number": "用紙の右上の番号（例: 0000123-4）", "facility": "施設コードまたは施設名（省略可）",
                    "answered_on": "記入日（例: 2025-05-01）", "comment": "自由記述（1,000文字まで）"}[key]
            sheet.append([header, key, hint, ""])
    sheet.append(["利用したサービス", "services", "いくつでも。「、」で区切って入力", ""])
    for column, width in zip("ABCD", (24, 18, 40, 22)):
        sheet.column_dimensions[column].width = width


def template_workbook() -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(HEADERS.values()))
    for column, key in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=1, column=column)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B5394")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = 50 if key == "comment" else 22
        question = QUESTIONS_BY_KEY.get(key)
        if question is not None and question.kind == "single":
            validation = DataValidation(type="list", formula1='"' + ",".join(c.label for c in question.choices) + '"',
                                        allow_blank=not question.required, showErrorMessage=True,
                                        errorTitle="選択肢にありません", error="一覧から選んでください。")
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{UPLOAD_MAX_ROWS + 1}")
        if key in ("sheet_number", "answered_on"):  # keep 0000123-4 and dates as typed
            for row in range(2, 1002):
                sheet.cell(row=row, column=column).number_format = "@"
    sheet.freeze_panes = "A2"
    _choices_sheet(workbook)
    return workbook


def write_template(suffix: str) -> bytes:
    """The empty template as .xlsx or .csv (UTF-8 with BOM, for Excel) bytes."""
    if suffix == ".csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(HEADERS.values())
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer = io.BytesIO()
    template_workbook().save(buffer)
    return buffer.getvalue()
