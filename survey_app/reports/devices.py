"""Per-tablet sync figures for a facility's report: last seen, answers waiting, refused."""
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Device, Facility
from ..timeutil import utcnow

# A tablet unheard of for this long is flagged: switched off, or without network.
STALE_AFTER = timedelta(days=1)


def facility_devices(facility: Facility, now: datetime | None = None) -> list[dict]:
    """Every enrolled, unrevoked tablet of the facility with what it last reported."""
    now = now or utcnow()
    devices = db.session.scalars(
        select(Device)
        .where(Device.facility_id == facility.id, Device.enrolled_at.is_not(None),
               Device.revoked_at.is_(None))
        .order_by(Device.id))
    return [{
        "id": device.id,
        "label": device.label or f"端末{device.id}",
        "last_seen_at": device.last_seen_at,
        "stale": device.last_seen_at is None or now - device.last_seen_at > STALE_AFTER,
        "pending": device.pending_count,
        "rejected": device.rejected_count,
        "reported_at": device.sync_reported_at,
    } for device in devices]
