"""Database engine set-up: SQLite pragmas for a shared tablet server."""
from sqlalchemy import event
from sqlalchemy.engine import Engine

DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


def configure_engine(engine: Engine, busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Apply per-connection settings that the database backend needs."""
    if engine.dialect.name != "sqlite":
        return

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
