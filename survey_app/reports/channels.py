"""How answers reached us (タブレット / 紙 / API): the mix per facility and year, and its filter."""
import sqlalchemy as sa
from flask import request

from ..extensions import db
from ..models import CHANNELS, Response

# Always shown, even at zero, so a facility sees that paper (or the API) brought nothing yet.
SHOWN_CHANNELS = ("tablet", "paper", "api")


def channel_arg() -> str | None:
    """The `channel` query parameter when it names a channel, else None (all channels)."""
    value = request.args.get("channel") or None
    return value if value in CHANNELS else None


def channel_mix(facility_ids: list[int], fiscal_year: int) -> list[dict]:
    """[{channel, label, n, share}] of the facilities' answers in a year, in CHANNELS order."""
    counts = dict(db.session.execute(
        sa.select(Response.channel, sa.func.count())
        .where(Response.facility_id.in_(facility_ids), Response.fiscal_year == fiscal_year)
        .group_by(Response.channel)).all()) if facility_ids else {}
    total = sum(counts.values())
    return [{"channel": key, "label": label, "n": counts.get(key, 0),
             "share": counts.get(key, 0) / total if total else None}
            for key, label in CHANNELS.items() if key in SHOWN_CHANNELS or counts.get(key)]
