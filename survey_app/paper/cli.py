"""`flask --app survey_app paper questionnaire | template | import`."""
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Facility
from .importer import PaperImportError, import_paper_file, write_template
from .printing import questionnaire_pdf
from .sheets import MAX_SHEETS_PER_PRINT, SheetNumberError, allocate_sheets, shown

paper_cli = AppGroup("paper", help="Paper questionnaires: print numbered sheets, import typed answers.")


@paper_cli.command("questionnaire")
@click.argument("code")
@click.option("--sheets", type=click.IntRange(1, MAX_SHEETS_PER_PRINT), required=True,
              help=f"how many numbered sheets to print (1–{MAX_SHEETS_PER_PRINT})")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the PDF file to write")
def questionnaire_command(code: str, sheets: int, output: Path):
    """Write a printable A4 questionnaire for facility CODE, each sheet with its own number."""
    facility = db.session.scalar(select(Facility).where(Facility.code == code))
    if facility is None:
        raise click.ClickException(f"no facility '{code}' (see `flask facilities list`)")
    try:
        numbers = allocate_sheets(facility, sheets)
    except SheetNumberError as error:
        raise click.ClickException(str(error))
    output.write_bytes(questionnaire_pdf(facility, numbers))
    click.echo(f"{output}: {sheets} sheet(s) for {facility.name}, "
               f"調査票番号 {shown(numbers[0])} – {shown(numbers[-1])}")


@paper_cli.command("template")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.xlsx or FILE.csv")
def template_command(output: Path):
    """Write an empty spreadsheet for typing in paper answers (Japanese headers and choices)."""
    if output.suffix.lower() not in (".xlsx", ".csv"):
        raise click.ClickException("--output must end in .xlsx or .csv")
    output.write_bytes(write_template(output.suffix.lower()))
    click.echo(f"{output}: template written")


@paper_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path):
    """Import paper answers typed into FILE (.xlsx or .csv); nothing is stored if a row is bad."""
    try:
        created, unchanged = import_paper_file(file.name, file.read_bytes())
    except PaperImportError as error:
        raise click.ClickException(str(error))
    click.echo(f"paper answers: {created} stored, {unchanged} already stored")
