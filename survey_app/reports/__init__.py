"""Report pages and exports: satisfaction per facility with honest uncertainty, themes, comments."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import views  # noqa: E402,F401  (registers the routes on bp)
