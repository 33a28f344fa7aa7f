"""Facility master data: CSV import (upsert) and the list shipped with the project."""
import csv
import io
import re
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .models import OPERATOR_KINDS, Facility
from .questionnaire import RESPONDENT_GROUP
from .tables import TableError, decode_text

SHIPPED_FACILITIES_CSV = Path(__file__).parent / "data" / "facilities.csv"
REQUIRED_COLUMNS = ("code", "name", "prefecture", "municipality", "operator_kind", "start_fiscal_year")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


class FacilityImportError(ValueError):
    """A bad facilities file; the message names the line at fault."""


def _parse_row(row: dict, line: int) -> dict:
    def fail(message: str):
        raise FacilityImportError(f"line {line}: {message}")

    values = {key: (row.get(key) or "").strip() for key in row if key}
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            fail(f"'{column}' is empty")
    if not CODE_PATTERN.match(values["code"]):
        fail(f"code '{values['code']}' must be a lowercase ASCII slug (a-z, 0-9, '-')")
    if values["operator_kind"] not in OPERATOR_KINDS:
        fail(f"operator_kind '{values['operator_kind']}' must be one of {', '.join(OPERATOR_KINDS)}")
    try:
        start_fiscal_year = int(values["start_fiscal_year"])
    except ValueError:
        fail(f"start_fiscal_year '{values['start_fiscal_year']}' is not a year")
    start_date = None
    if values.get("start_date"):
        try:
            start_date = date.fromisoformat(values["start_date"])
        except ValueError:
            fail(f"start_date '{values['start_date']}' is not a date (YYYY-MM-DD)")
    groups = [g.strip() for g in values.get("target_groups", "").split(";") if g.strip()]
    unknown = [g for g in groups if g not in RESPONDENT_GROUP.values()]
    if unknown:
        fail(f"unknown target_groups {unknown}; allowed: {sorted(RESPONDENT_GROUP.values())}")
    return {
        "code": values["code"],
        "name": values["name"],
        "prefecture": values["prefecture"],
        "municipality": values["municipality"],
        "operator_kind": values["operator_kind"],
        "start_fiscal_year": start_fiscal_year,
        "start_date": start_date,
        "hello_work_office": values.get("hello_work_office") or None,
        "target_groups": groups,
    }


def parse_facilities_csv(text: str) -> list[dict]:
    """Parse and validate a facilities CSV; raise FacilityImportError naming the bad line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FacilityImportError(f"line 1: missing column(s) {', '.join(missing)}")
    parsed, seen = [], {}
    for row in reader:
        line = reader.line_num
        facility = _parse_row(row, line)
        if facility["code"] in seen:
            raise FacilityImportError(
                f"line {line}: code '{facility['code']}' repeats line {seen[facility['code']]}")
        seen[facility["code"]] = line
        parsed.append(facility)
    return parsed


def upsert_facilities(rows: list[dict]) -> tuple[int, int]:
    """Insert new facilities and update existing ones by code; return (created, updated)."""
    existing = {f.code: f for f in db.session.scalars(select(Facility))}
    created = updated = 0
    for row in rows:
        facility = existing.get(row["code"])
        if facility is None:
            db.session.add(Facility(**row))
            created += 1
        else:
            for key, value in row.items():
                setattr(facility, key, value)
            updated += 1
    db.session.commit()
    return created, updated


def read_text_file(path: Path) -> str:
    """Read a CSV saved as UTF-8 (with or without BOM) or as Shift_JIS by Excel."""
    try:
        return decode_text(path.read_bytes())
    except TableError:
        raise FacilityImportError(f"{path}: not UTF-8 or Shift_JIS text")


def load_shipped_facilities() -> tuple[int, int]:
    return upsert_facilities(parse_facilities_csv(read_text_file(SHIPPED_FACILITIES_CSV)))


facilities_cli = AppGroup("facilities", help="Manage facilities.")


@facilities_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
def import_command(csv_file: Path | None):
    """Import (upsert) facilities from CSV_FILE, or the shipped list when omitted."""
    try:
        rows = parse_facilities_csv(read_text_file(csv_file or SHIPPED_FACILITIES_CSV))
    except FacilityImportError as error:
        raise click.ClickException(str(error))
    created, updated = upsert_facilities(rows)
    click.echo(f"facilities: {created} created, {updated} updated")


@facilities_cli.command("list")
def list_command():
    """List facilities with their codes."""
    for facility in db.session.scalars(select(Facility).order_by(Facility.code)):
        click.echo(f"{facility.code}\t{facility.name}\t{facility.prefecture}")
