"""The theme workbench: analysts review the latest run's themes and correct them (decisions)."""
from flask import Blueprint

bp = Blueprint("workbench", __name__, url_prefix="/themes")

from . import views  # noqa: E402,F401  (registers the routes on bp)
