"""Consistent backups of a live SQLite database (SQLite's online backup API)."""
import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .db import create_private_file

PAGES_PER_STEP = 256


def backup_sqlite(source_path: Path, target_path: Path, progress=None) -> int:
    """Copy a live database page by page while writers continue; return the pages copied."""
    target_path.parent.mkdir(parents=True, exist_ok=True)
    partial = target_path.with_name(target_path.name + ".partial")
    partial.unlink(missing_ok=True)
    create_private_file(partial)  # a copy of every answer: as private as the database
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.backup(target, pages=PAGES_PER_STEP, progress=progress)
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        pages = target.execute("PRAGMA page_count").fetchone()[0]
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"backup failed its integrity check: {check}")
    finally:
        target.close()
        source.close()
    # Renamed only when complete, so PATH never holds a half-written copy.
    partial.replace(target_path)
    return pages


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path):
    """Write a consistent copy of the live SQLite database to PATH."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.ClickException("backup copies SQLite databases; for PostgreSQL use pg_dump")
    source = Path(url.database)
    if not source.exists():
        raise click.ClickException(f"no database at {source}")

    def show(_status, remaining, total):
        click.echo(f"\rbackup: {total - remaining}/{total} pages", nl=False, err=True)

    pages = backup_sqlite(source, path, progress=show)
    click.echo(f"\nbackup: {pages} pages written to {path}", err=True)
