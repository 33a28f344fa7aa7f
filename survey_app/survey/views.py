"""Survey views (placeholder until the form lands)."""
from . import bp


@bp.get("/")
def index():
    return "survey"
