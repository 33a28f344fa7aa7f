"""Administration for admins: users (roles, facilities, passwords, disabling) and the audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import views  # noqa: E402,F401  (registers the routes on bp)
