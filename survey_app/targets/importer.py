"""Yearly targets from CSV or Excel: parse, validate every row, then upsert all or nothing.

A file has one row per facility, fiscal year and indicator. Required columns:
``facility_code``, ``fiscal_year``, ``indicator_key``, ``target``; optional: ``result``,
``indicator_name``, ``kind``, ``unit``, ``direction``, ``note``. For the indicators in
``INDICATORS`` the name, kind and unit default to the catalog's; other keys must give them.
Numbers may carry thousands separators and, for rates, a trailing ``%`` ("10,941", "66.7%").
Rows are upserted by (facility, fiscal_year, indicator_key): a row replaces what was stored.
"""
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..facilities import read_text_file
from ..models import Facility, Target
from ..tables import TableError, decode_text, is_excel_name, read_csv_records, read_xlsx_records

SHIPPED_TARGETS_CSV = Path(__file__).resolve().parent.parent / "data" / "targets_fy2012.csv"
REQUIRED_COLUMNS = ("facility_code", "fiscal_year", "indicator_key", "target")
OPTIONAL_COLUMNS = ("result", "indicator_name", "kind", "unit", "direction", "note")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
KINDS = {"count": "件数・人数", "rate": "率"}
UNITS = {"count": ("人", "件", "回"), "rate": ("%",)}
DIRECTIONS = {"higher": "多いほど良い", "lower": "少ないほど良い"}
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    kind: str
    unit: str


# The indicators the seed's councils set (平成24年度取組状況); files may add others.
INDICATORS = {i.key: i for i in (
    Indicator("employments", "就職者数", "count", "人"),
    Indicator("referral_employments", "うち紹介就職", "count", "人"),
    Indicator("employment_rate", "就職率", "rate", "%"),
    Indicator("consultations", "相談件数", "count", "件"),
    Indicator("users", "利用者数", "count", "人"),
    Indicator("new_support_targets", "新規支援対象者数", "count", "人"),
    Indicator("support_targets", "支援対象者数", "count", "人"),
    Indicator("seminars", "セミナー開催回数", "count", "回"),
)}


class TargetImportError(ValueError):
    """A bad targets file; ``errors`` lists every problem, each naming its line and column."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        message = "; ".join(shown) + (f"; … and {more} more" if more > 0 else "")
        super().__init__(message + ". Nothing was imported.")


def parse_number(text: str) -> float:
    """Parse '10,941', '66.7%' or '40'; raise ValueError for anything else."""
    cleaned = text.replace(",", "").replace("，", "").strip()
    if cleaned.endswith("%") or cleaned.endswith("％"):
        cleaned = cleaned[:-1].strip()
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def read_records_xlsx(source) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the header and rows of the sheet named ``targets``, or else the first sheet."""
    try:
        return read_xlsx_records(source, "targets")
    except TableError as error:
        raise TargetImportError([str(error)])


def parse_targets(header: list[str], records: list[tuple[int, dict]],
                  facility_ids: dict[str, int], where: str = "line") -> list[dict]:
    """Validate the rows; return them as Target fields or raise TargetImportError.

    ``facility_ids`` maps known facility codes to ids; ``where`` is "line" (CSV) or "row"
    (Excel), the word the messages use for the position.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TargetImportError([f"{where} 1: missing column(s) {', '.join(missing)}"
                                 f" (required: {', '.join(REQUIRED_COLUMNS)})"])
    errors: list[str] = []
    parsed: list[dict] = []
    seen: dict[tuple, int] = {}
    for number, row in records:
        row_errors: list[str] = []

        def fail(column: str, message: str):
            row_errors.append(f"{where} {number}, column '{column}': {message}")

        code = row.get("facility_code", "")
        facility_id = facility_ids.get(code)
        if not code:
            fail("facility_code", "is empty")
        elif facility_id is None:
            fail("facility_code", f"unknown facility '{code}' (see `flask facilities list`)")

        fiscal_year = None
        text = row.get("fiscal_year", "")
        if not text:
            fail("fiscal_year", "is empty")
        else:
            try:
                fiscal_year = int(text)
                if not 1990 <= fiscal_year <= 2100:
                    raise ValueError
            except ValueError:
                fail("fiscal_year", f"'{text}' is not a fiscal year such as 2012")
                fiscal_year = None

        key = row.get("indicator_key", "")
        known = INDICATORS.get(key)
        if not key:
            fail("indicator_key", "is empty")
        elif not KEY_PATTERN.match(key):
            fail("indicator_key", f"'{key}' must be lowercase ASCII (a-z, 0-9, '_'),"
                                  f" e.g. {', '.join(INDICATORS)}")

        kind = row.get("kind", "") or (known.kind if known else "")
        if not kind:
            fail("kind", f"is empty; indicator '{key}' is not in the catalog, so give one of"
                         f" {', '.join(KINDS)}")
        elif kind not in KINDS:
            fail("kind", f"unknown kind '{kind}'; allowed: {', '.join(KINDS)}")
        elif known and kind != known.kind:
            fail("kind", f"indicator '{key}' is a {known.kind}, not a {kind}")

        unit = row.get("unit", "") or (known.unit if known and kind == known.kind else "")
        if kind in KINDS:
            if not unit:
                fail("unit", f"is empty; allowed for a {kind}: {', '.join(UNITS[kind])}")
            elif unit not in UNITS[kind]:
                fail("unit", f"unknown unit '{unit}' for a {kind}; allowed: {', '.join(UNITS[kind])}")

        name = row.get("indicator_name", "") or (known.name if known else "")
        if not name:
            fail("indicator_name", f"is empty; indicator '{key}' is not in the catalog")
        elif len(name) > 100:
            fail("indicator_name", "is longer than 100 characters")

        direction = row.get("direction", "") or "higher"
        if direction not in DIRECTIONS:
            fail("direction", f"unknown direction '{direction}'; allowed: {', '.join(DIRECTIONS)}")

        values = {}
        for column, required in (("target", True), ("result", False)):
            text = row.get(column, "")
            if not text:
                if required:
                    fail(column, "is empty")
                values[column] = None
                continue
            try:
                value = parse_number(text)
            except ValueError:
                fail(column, f"'{text}' is not a number")
                continue
            if value < 0:
                fail(column, f"{text} is negative")
            elif kind == "rate" and value > 100:
                fail(column, f"{text} is not a percentage (0–100)")
            values[column] = value

        if facility_id is not None and fiscal_year is not None and key:
            identity = (facility_id, fiscal_year, key)
            if identity in seen:
                fail("indicator_key", f"{code} {fiscal_year} '{key}' repeats {where} {seen[identity]}")
            else:
                seen[identity] = number

        if row_errors:
            errors.extend(row_errors)
            continue
        parsed.append({
            "facility_id": facility_id, "fiscal_year": fiscal_year, "indicator_key": key,
            "indicator_name": name, "kind": kind, "unit": unit, "direction": direction,
            "target": values["target"], "result": values["result"],
            "note": row.get("note", "") or None,
        })
    if errors:
        raise TargetImportError(errors)
    return parsed


def facility_ids() -> dict[str, int]:
    """Map every facility code to its id."""
    return {code: id_ for code, id_ in db.session.execute(select(Facility.code, Facility.id))}


def upsert_targets(rows: list[dict]) -> tuple[int, int]:
    """Insert new targets and replace existing ones by key; commit; return (created, updated)."""
    identities = {(r["facility_id"], r["fiscal_year"], r["indicator_key"]) for r in rows}
    years = {r["fiscal_year"] for r in rows}
    existing = {}
    if rows:
        existing = {
            (t.facility_id, t.fiscal_year, t.indicator_key): t
            for t in db.session.scalars(select(Target).where(Target.fiscal_year.in_(years)))
            if (t.facility_id, t.fiscal_year, t.indicator_key) in identities
        }
    created = updated = 0
    for row in rows:
        target = existing.get((row["facility_id"], row["fiscal_year"], row["indicator_key"]))
        if target is None:
            db.session.add(Target(**row))
            created += 1
        else:
            for key, value in row.items():
                setattr(target, key, value)
            updated += 1
    db.session.commit()
    return created, updated


def _decode(raw: bytes) -> str:
    try:
        return decode_text(raw)
    except TableError:
        raise TargetImportError(["the file is neither UTF-8 nor Shift_JIS text (save it as CSV or .xlsx)"])


def read_targets_bytes(name: str, raw: bytes) -> list[dict]:
    """Read and validate an uploaded file: .xlsx by its name, else CSV (UTF-8 or Shift_JIS)."""
    if is_excel_name(name):
        header, records = read_records_xlsx(io.BytesIO(raw))
        return parse_targets(header, records, facility_ids(), "row")
    header, records = read_csv_records(_decode(raw))
    return parse_targets(header, records, facility_ids(), "line")


def read_targets_file(path: Path) -> list[dict]:
    """Read and validate a .csv (UTF-8 or Shift_JIS) or .xlsx targets file."""
    if is_excel_name(path.name):
        header, records = read_records_xlsx(path)
        return parse_targets(header, records, facility_ids(), "row")
    try:
        text = read_text_file(path)
    except ValueError as error:
        raise TargetImportError([str(error)])
    header, records = read_csv_records(text)
    return parse_targets(header, records, facility_ids(), "line")


def import_targets_file(path: Path) -> tuple[int, int]:
    """Import (upsert) a targets file; nothing is stored when any row is bad."""
    return upsert_targets(read_targets_file(path))


def load_shipped_targets() -> tuple[int, int]:
    """Upsert the seed's 平成24年度 targets and results; return (created, updated)."""
    return import_targets_file(SHIPPED_TARGETS_CSV)
