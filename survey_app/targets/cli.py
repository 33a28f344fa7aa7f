"""`flask targets import [FILE]` and `flask targets list`."""
from pathlib import Path

import click
import pandas as pd
from flask.cli import AppGroup

from analysis.achievement import STATUS_LABELS

from .importer import SHIPPED_TARGETS_CSV, TargetImportError, import_targets_file
from .queries import achievement_for, national_summary

targets_cli = AppGroup("targets", help="Manage yearly targets (年度目標) and results.")


def _number(value) -> str:
    if pd.isna(value):  # no result yet
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@targets_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
def import_command(file: Path | None):
    """Import (upsert) targets from FILE (.csv or .xlsx), or the shipped 平成24年度 figures."""
    try:
        created, updated = import_targets_file(file or SHIPPED_TARGETS_CSV)
    except TargetImportError as error:
        raise click.ClickException(str(error))
    click.echo(f"targets: {created} created, {updated} updated")


@targets_cli.command("list")
@click.option("--fiscal-year", type=int, required=True, help="Fiscal year (年度), e.g. 2012.")
def list_command(fiscal_year: int):
    """List the targets of a fiscal year, judged, and the national summary."""
    frame = achievement_for(fiscal_year)
    if frame.empty:
        click.echo(f"no targets for fiscal year {fiscal_year}")
        return
    for code, rows in frame.groupby("facility_code", sort=True):
        status = rows["status_label"].iloc[0]
        click.echo(f"{code}\t{rows['facility_name'].iloc[0]}\t{'未判定' if pd.isna(status) else status}")
        for row in rows.itertuples():
            mark = "-" if pd.isna(row.met) else ("○" if row.met else "×")
            click.echo(f"  {mark} {row.indicator_name}\t{_number(row.result)}{row.unit}"
                       f" / 目標 {_number(row.target)}{row.unit}")
    summary = national_summary(fiscal_year)
    for row in summary.itertuples():
        click.echo(f"{row.fiscal_year}: " + ", ".join(
            f"{STATUS_LABELS[s]} {getattr(row, s)}" for s in STATUS_LABELS)
            + f"; 就職者数 {_number(row.employments)}人")
