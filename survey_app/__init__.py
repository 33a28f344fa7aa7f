"""Flask application for collecting and reporting jobseeker satisfaction surveys."""
import os
import secrets
from pathlib import Path

from flask import Flask

from . import inputs, security

__version__ = "0.1.0"


def _instance_secret_key(instance_path: str) -> str:
    """Read the instance's secret key, creating one on first run (kept out of git)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the application."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    from .db import normalize_database_url

    default_db = "sqlite:///" + os.path.join(app.instance_path, "survey.sqlite3")
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=normalize_database_url(os.environ.get("DATABASE_URL", default_db)),
        # hide_parameters: a failed statement's log line must not carry a comment's text.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": True},
        MAX_CONTENT_LENGTH=64 * 1024,
        SQLITE_BUSY_TIMEOUT_MS=5000,
        # Submissions per device per minute; a person cannot answer faster than this.
        SURVEY_RATE_LIMIT_PER_MINUTE=int(os.environ.get("SURVEY_RATE_LIMIT_PER_MINUTE", 12)),
        # Kiosk timings, in seconds.
        KIOSK_IDLE_SECONDS=int(os.environ.get("KIOSK_IDLE_SECONDS", 90)),
        KIOSK_COUNTDOWN_SECONDS=int(os.environ.get("KIOSK_COUNTDOWN_SECONDS", 15)),
        KIOSK_THANKS_SECONDS=int(os.environ.get("KIOSK_THANKS_SECONDS", 8)),
        # Offline queue on the tablet: retry backoff and how often it reports its size.
        SYNC_RETRY_MIN_SECONDS=2,
        SYNC_RETRY_MAX_SECONDS=300,
        SYNC_HEARTBEAT_SECONDS=300,
        ENROLLMENT_VALID_HOURS=72,
        DEVICE_COOKIE_NAME="survey_device",
        DEVICE_COOKIE_MAX_AGE=5 * 365 * 24 * 3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        # Reverse proxies in front of the app, whose X-Forwarded-* headers are believed
        # (security.trust_proxies); 0: none, since any client can send such headers itself.
        TRUSTED_PROXIES=0,
        # Publishing a theme catalog also writes it here; `survey-analysis run` reads it when the
        # database has no published version (a recreated demo database keeps the catalog).
        CATALOG_FILE=os.path.join(app.instance_path, "catalog.json"),
        # Processes sharing a catalog retrain's cross-validation folds (-1: every core).
        CATALOG_RETRAIN_JOBS=-1,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("SURVEY")
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _instance_secret_key(app.instance_path)

    _init_extensions(app)
    inputs.init_app(app)
    security.init_app(app)
    _register_blueprints(app)
    _register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    from .db import configure_engine
    from .extensions import csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _register_blueprints(app: Flask) -> None:
    from . import admin, api, auth, catalogs, errors, health, paper, reports, survey, targets, workbench

    health.init_app(app)
    errors.init_app(app)
    app.register_blueprint(survey.bp)  # the tablet form
    app.register_blueprint(api.bp)  # JSON API for tablets and other clients
    auth.init_app(app)  # logins, sessions and roles
    app.register_blueprint(admin.bp)  # users and the audit log
    app.register_blueprint(targets.bp)  # yearly targets (年度目標) and results
    app.register_blueprint(reports.bp)  # report pages and exports
    app.register_blueprint(catalogs.bp)  # theme catalog versions (analysts)
    app.register_blueprint(paper.bp)  # paper questionnaires: printing, entry, import
    app.register_blueprint(workbench.bp)  # analysts review and correct the themes


def _register_commands(app: Flask) -> None:
    from .auth.cli import users_cli
    from .backup import backup_command
    from .comment_search import comments_cli
    from .demo import demo_data_command
    from .devices import devices_cli
    from .facilities import facilities_cli
    from .paper.cli import paper_cli
    from .targets.cli import targets_cli

    for command in (facilities_cli, devices_cli, demo_data_command, backup_command, users_cli, targets_cli,
                    comments_cli, paper_cli):
        app.cli.add_command(command)
