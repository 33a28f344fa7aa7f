"""Yearly targets (年度目標) and results per facility: admin pages, import, achievement."""
from flask import Blueprint

bp = Blueprint("targets", __name__, url_prefix="/admin/targets")

from . import views  # noqa: E402,F401  (registers the routes on bp)
