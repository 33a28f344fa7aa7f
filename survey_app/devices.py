"""Tablet enrollment: one-time enrollment links, device tokens and the device cookie."""
import hashlib
import secrets
from datetime import datetime, timedelta

import click
from flask import Response, current_app, request
from flask.cli import AppGroup
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import joinedload

from . import audit
from .extensions import db
from .models import Device, Facility
from .security import cookies_secure
from .timeutil import utcnow


def digest(secret: str) -> str:
    # surrogatepass: a malformed secret from a URL or header simply never matches.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_device(facility: Facility, label: str = "") -> tuple[Device, str, str]:
    """Create a device awaiting enrollment; return it with its token and one-time code."""
    token = secrets.token_urlsafe(32)
    enrollment_code = secrets.token_urlsafe(16)
    valid_hours = current_app.config["ENROLLMENT_VALID_HOURS"]
    device = Device(
        facility=facility,
        label=label,
        token_hash=digest(token),
        enrollment_code_hash=digest(enrollment_code),
        enrollment_expires_at=utcnow() + timedelta(hours=valid_hours),
    )
    db.session.add(device)
    db.session.commit()
    return device, token, enrollment_code


def _enrollable(now: datetime) -> ColumnElement[bool]:
    """The SQL condition of a device whose one-time code is unused, unexpired and unrevoked."""
    return and_(Device.enrollment_code_hash.is_not(None), Device.enrollment_expires_at >= now,
                Device.revoked_at.is_(None))


def device_for_enrollment_code(code: str) -> Device | None:
    """Return the device a still-valid, unused enrollment code belongs to."""
    return db.session.scalar(select(Device).where(Device.enrollment_code_hash == digest(code),
                                                  _enrollable(utcnow())))


def complete_enrollment(device: Device) -> bool:
    """Spend the one-time code; return False if it was spent, expired or revoked meanwhile.

    One conditional UPDATE, so that of concurrent requests for the same link (other workers,
    other threads) exactly one wins, on SQLite and PostgreSQL alike: reading the device and
    then writing it let every request that read it first enroll a browser.
    """
    now = utcnow()
    result = db.session.execute(
        update(Device).where(Device.id == device.id, _enrollable(now))
        .values(enrollment_code_hash=None, enrollment_expires_at=None, enrolled_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()  # also expires `device`, so it reloads what the database now holds
    return result.rowcount == 1


def device_for_token(token: str) -> Device | None:
    # The facility comes in the same query: every API call needs both.
    device = db.session.scalar(select(Device).options(joinedload(Device.facility))
                               .where(Device.token_hash == digest(token)))
    return device if device is not None and device.is_active else None


def _cookie_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="survey-device")


def device_cookie_value(device: Device) -> str:
    # The cookie names the device and a fingerprint of its token, so revoking or
    # re-issuing the token also retires every browser cookie of that device.
    return _cookie_serializer().dumps({"device": device.id, "token": device.token_hash[:16]})


def set_device_cookie(response: Response, device: Device) -> None:
    """Enroll this browser as `device`: HttpOnly, SameSite=Lax, Secure like the session cookie."""
    config = current_app.config
    response.set_cookie(config["DEVICE_COOKIE_NAME"], device_cookie_value(device),
                        max_age=config["DEVICE_COOKIE_MAX_AGE"], httponly=True,
                        samesite="Lax", secure=cookies_secure())


def device_from_cookie() -> Device | None:
    """Return the active device this browser was enrolled as, if any."""
    raw = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if not raw:
        return None
    try:
        data = _cookie_serializer().loads(raw)
    except BadSignature:
        return None
    device = db.session.get(Device, data.get("device"))
    if device is None or not device.is_active or device.enrolled_at is None:
        return None
    if device.token_hash[:16] != data.get("token"):
        return None
    return device


DEVICE_STATES = {"pending": "登録待ち", "expired": "登録期限切れ", "enrolled": "利用中", "revoked": "取り消し済み"}


def device_state(device: Device, now: datetime | None = None) -> str:
    """One of DEVICE_STATES: revoked, enrolled, pending (its link still works) or expired."""
    if device.revoked_at is not None:
        return "revoked"
    if device.enrolled_at is not None:
        return "enrolled"
    expires = device.enrollment_expires_at
    return "pending" if expires is not None and expires >= (now or utcnow()) else "expired"


def revoke_device(device: Device) -> bool:
    """Revoke a tablet: its cookie, token and unused link stop working at once.

    Returns False when it was revoked already (the first revocation time is kept).
    """
    if device.revoked_at is not None:
        return False
    device.revoked_at = utcnow()
    db.session.commit()
    return True


def enrollment_url(code: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/enroll/{code}"


devices_cli = AppGroup("devices", help="Enroll and revoke survey tablets.")


@devices_cli.command("enroll")
@click.argument("facility_code")
@click.option("--label", default="", help="A name for the tablet, e.g. 受付横.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the tablet reaches this server.")
def enroll_command(facility_code: str, label: str, base_url: str):
    """Create a tablet for FACILITY_CODE; print its enrollment URL and API token."""
    facility = db.session.scalar(select(Facility).where(Facility.code == facility_code))
    if facility is None:
        raise click.ClickException(f"no facility with code '{facility_code}'")
    device, token, code = create_device(facility, label)
    hours = current_app.config["ENROLLMENT_VALID_HOURS"]
    click.echo(f"device {device.id} for {facility.code} ({facility.name})")
    click.echo(f"enrollment URL (open once on the tablet, valid {hours} h): "
               f"{enrollment_url(code, base_url)}")
    click.echo(f"device token (for API clients, shown only now): {token}")


@devices_cli.command("revoke")
@click.argument("device_id", type=int)
def revoke_command(device_id: int):
    """Revoke a tablet: its cookie and token stop working at once."""
    device = db.session.get(Device, device_id)
    if device is None:
        raise click.ClickException(f"no device {device_id}")
    if revoke_device(device):
        audit.store("cli.device_revoked", f"device {device.id} {device.facility.code}")
    click.echo(f"device {device_id} revoked")


@devices_cli.command("list")
def list_command():
    """List tablets with their facility and state."""
    for device in db.session.scalars(select(Device).order_by(Device.id)):
        seen = device.last_seen_at.isoformat(timespec="seconds") if device.last_seen_at else "-"
        queue = (f"pending {device.pending_count} rejected {device.rejected_count}"
                 if device.sync_reported_at else "queue -")
        click.echo(f"{device.id}\t{device.facility.code}\t{device.label}\t{device_state(device)}"
                   f"\tlast seen {seen}\t{queue}")
