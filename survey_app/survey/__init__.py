"""The tablet survey that jobseekers answer."""
from flask import Blueprint

bp = Blueprint("survey", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
