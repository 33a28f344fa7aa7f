"""Health check for load balancers, and the answer given while the database is unavailable."""
import logging

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import false, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from .extensions import db
from .models import Facility

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


@bp.get("/healthz")
def healthz():
    try:
        # A write that changes no row, rolled back: it still needs the write lock and the
        # right to write, so a read-only file, directory, replica or role fails here, not on
        # the next answer.
        db.session.execute(update(Facility).where(false()).values(code=Facility.code))
        db.session.rollback()
    except (OperationalError, DBAPIError, PoolTimeoutError) as error:
        db.session.rollback()
        log.warning("health check failed: %s", type(error).__name__)
        return jsonify({"status": "unavailable", "database": "error"}), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return jsonify({"status": "ok", "database": "ok"})


def database_unavailable(error):
    """Answer 503 with Retry-After when the database is locked or down: clients retry later."""
    db.session.rollback()
    # Only the error class: messages can quote SQL parameters, which may hold comment text.
    log.warning("database unavailable (%s) on %s %s", type(error).__name__, request.method, request.path)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    message = "ただいま混み合っています。少し待ってからもう一度お試しください。"
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": message}), 503, headers
    try:
        body = render_template("error.html", code=503, title="一時的に利用できません", text=message)
    except Exception:  # the page must not fail while the database does
        body = f"<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>一時的に利用できません</title><p>{message}</p></html>"
    return body, 503, headers


def init_app(app) -> None:
    app.register_blueprint(bp)
    for error_class in (OperationalError, PoolTimeoutError):
        app.register_error_handler(error_class, database_unavailable)
    # A DBAPIError whose connection was lost is the same situation as OperationalError.
    app.register_error_handler(DBAPIError, _dbapi_error)


# SQLSTATE of a write in a read-only transaction (a PostgreSQL hot standby or read-only role).
READ_ONLY_SQLSTATE = "25006"


def _dbapi_error(error: DBAPIError):
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if error.connection_invalidated or isinstance(error, OperationalError) or sqlstate == READ_ONLY_SQLSTATE:
        return database_unavailable(error)
    raise error
