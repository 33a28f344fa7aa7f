"""Sheet numbers (調査票番号): a national serial and a Luhn check digit, printed on every sheet.

A number is 8 digits, the serial zero-padded to 7 and its check digit, printed
「0000123-4」 and held by the sheet's QR code as 「00001234」 (a scanner types it like a keyboard).
The serial comes from `paper_sheets`, which says which facility the sheet was printed for, so a
typed number alone tells where an answer belongs. Luhn catches every single wrong digit and
nearly every swap of two neighbours.
"""
import unicodedata
import uuid

from sqlalchemy import func, select

from ..extensions import db
from ..models import Facility, PaperSheet

SERIAL_DIGITS = 7
MAX_SERIAL = 10 ** SERIAL_DIGITS - 1
# One print run; WeasyPrint takes about a second per 10 sheets.
MAX_SHEETS_PER_PRINT = 500
# Paper answers get a client id derived from their sheet number: a sheet typed in twice (on the
# entry screen, in a spreadsheet, by two people) is one client id, stored once.
PAPER_NAMESPACE = uuid.UUID("6f1c1f4e-3a52-4c0e-9d61-5a6b2f0c9e11")
SEPARATORS = " -‐−ー－"


class SheetNumberError(ValueError):
    """A typed sheet number that cannot be one; the message is for the staff member."""


def luhn_digit(digits: str) -> int:
    """The Luhn check digit of a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # every second digit from the right, starting with the last
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def sheet_number(serial: int) -> str:
    body = f"{serial:0{SERIAL_DIGITS}d}"
    return body + str(luhn_digit(body))


def shown(number: str) -> str:
    """「0000123-4」: the check digit set apart, as printed."""
    return f"{number[:-1]}-{number[-1]}"


def parse_sheet_number(text: str) -> str:
    """Return the canonical number of what staff typed (full-width, hyphens and spaces allowed)."""
    cleaned = unicodedata.normalize("NFKC", text or "")
    for separator in SEPARATORS:
        cleaned = cleaned.replace(separator, "")
    if not cleaned:
        raise SheetNumberError("調査票番号を入力してください。")
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > SERIAL_DIGITS + 1:
        raise SheetNumberError(
            "調査票番号は、用紙の右上にある8けたの数字（例: 0000123-4）を入力してください。")
    if len(cleaned) < 2:
        raise SheetNumberError("調査票番号が短すぎます。用紙の右上の番号をすべて入力してください。")
    number = cleaned.zfill(SERIAL_DIGITS + 1)
    if luhn_digit(number[:-1]) != int(number[-1]):
        raise SheetNumberError(
            f"調査票番号「{shown(number)}」は正しくありません（最後のチェック用の数字が合いません）。"
            "打ち間違いがないか、用紙の番号を確かめてください。")
    return number


def client_uuid_for(number: str) -> str:
    return str(uuid.uuid5(PAPER_NAMESPACE, number))


def sheet_for(number: str) -> PaperSheet | None:
    """The printed sheet with this canonical number, or None if it was never printed."""
    return db.session.get(PaperSheet, int(number[:-1]))


def allocate_sheets(facility: Facility, count: int, user_id: int | None = None) -> list[str]:
    """Hand out `count` new national sheet numbers for one facility's print run; commit."""
    batch = str(uuid.uuid4())
    used = db.session.scalar(select(func.max(PaperSheet.serial))) or 0
    if used + count > MAX_SERIAL:
        raise SheetNumberError("調査票番号をこれ以上発行できません。管理者に連絡してください。")
    sheets = [PaperSheet(facility_id=facility.id, batch=batch, printed_by_id=user_id) for _ in range(count)]
    db.session.add_all(sheets)
    db.session.flush()  # the database picks the serials, so concurrent print runs never share one
    numbers = [sheet_number(sheet.serial) for sheet in sorted(sheets, key=lambda s: s.serial)]
    db.session.commit()
    return numbers
