"""Theme catalog versions for analysts: retrain, compare, publish, restore, diff, import/export."""
from flask import Blueprint

bp = Blueprint("catalogs", __name__, url_prefix="/themes/catalog")

from . import views  # noqa: E402,F401  (registers the routes on bp)
