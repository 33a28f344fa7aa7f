"""Spreadsheet uploads: the one place that decodes CSV text and reads rows of CSV or Excel.

Facilities, targets and paper answers all arrive as files saved by Excel or typed by hand, so
they share this: UTF-8 (with or without BOM) or Shift_JIS text, or the first (or a named)
sheet of an .xlsx workbook, as (row number, {header: text}) pairs with blank rows skipped.
"""
import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path

ENCODINGS = ("utf-8-sig", "cp932")


class TableError(ValueError):
    """A file that cannot be read as a table at all (not its rows' content)."""


def decode_text(raw: bytes) -> str:
    """Decode a CSV saved as UTF-8 (with or without BOM) or as Shift_JIS by Excel."""
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("not UTF-8 or Shift_JIS text")


def cell_text(value) -> str:
    """Return a cell as stripped text (Excel gives numbers and dates, CSV gives text)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def is_excel_name(name: str) -> bool:
    return Path(name).suffix.lower() in (".xlsx", ".xlsm")


def read_csv_records(text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the header and (line number, row) pairs of a CSV text; blank lines skipped."""
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    records = []
    for row in reader:
        values = {key: cell_text(value) for key, value in row.items() if key}
        if any(values.values()):
            records.append((reader.line_num, values))
    return header, records


def read_xlsx_records(source, sheet_name: str | None = None) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the header and (row number, row) pairs of a workbook's sheet.

    ``source`` is a path or a binary file object. The sheet called ``sheet_name`` is read when
    there is one, else the first sheet; the header is its first row.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise TableError(f"not a readable Excel workbook (.xlsx): {error}")
    try:
        sheet = workbook[sheet_name] if sheet_name in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [cell_text(value) for value in next(rows, ())]
        records = []
        for number, values in enumerate(rows, start=2):
            row = {name: cell_text(value) for name, value in zip(header, values) if name}
            if any(row.values()):
                records.append((number, row))
    finally:
        workbook.close()
    return header, records
