"""Database engine set-up: SQLite pragmas for a shared tablet server."""
import os

from sqlalchemy import event
from sqlalchemy.engine import Engine

DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


def create_private_file(path) -> None:
    """Create an empty file readable by its owner only, unless it exists.

    SQLite takes an empty file as a new database, and gives the -wal, -shm and journal files
    it creates next to it the database file's permissions.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def configure_engine(engine: Engine, busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Apply per-connection settings that the database backend needs."""
    if engine.dialect.name != "sqlite":
        return
    path = engine.url.database
    if path and path != ":memory:" and not engine.url.query.get("uri"):
        @event.listens_for(engine, "do_connect")
        def create_database_file(_dialect, _record, _cargs, _cparams):
            # Before SQLite would create it with the umask's mode (often world-readable).
            try:
                create_private_file(path)
            except OSError:
                pass  # e.g. a read-only directory: SQLite reports it in its own words

    @event.listens_for(engine, "connect")
    def set_sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        # WAL lets report readers run while tablets write; busy_timeout waits instead of failing.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable across application crashes in WAL mode; only a power cut can lose
        # the last transactions, which the tablets' retry covers.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def normalize_database_url(url: str) -> str:
    """Accept the `postgres://` and `postgresql://` forms that hosting tools print."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
