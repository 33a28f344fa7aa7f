"""Validate a respondent's answers and store them exactly once.

Both the tablet form and the JSON API end here, so both accept and refuse the same things.
Error messages are Japanese because respondents and tablet staff read them.
"""
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .extensions import db
from .models import Device, Facility, Response
from .questionnaire import COMMENT, FORM_VERSION, QUESTIONS, QUESTIONS_BY_KEY
from .timeutil import fiscal_year_of_utc, to_utc_naive, utcnow

# Control characters other than tab and newlines, and lone surrogates, cannot be stored
# safely (PostgreSQL refuses NUL) and never come from a real keyboard.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_ANSWER_AGE = timedelta(days=400)
DEVICE_SEEN_RESOLUTION = timedelta(minutes=1)


class ConflictError(Exception):
    """The same client id was already used for different answers."""

    def __init__(self, client_uuid: str):
        super().__init__(f"response {client_uuid} exists with other content")
        self.client_uuid = client_uuid


@dataclass
class Validated:
    answers: dict
    errors: dict[str, str]


def _required_message(key: str) -> str:
    return "この質問は必ず選んでください。" if QUESTIONS_BY_KEY[key].kind == "single" else "入力してください。"


def validate_answers(raw: dict) -> Validated:
    """Check answers in the API's shape; return cleaned answers and per-field messages."""
    if not isinstance(raw, dict):
        return Validated({}, {"answers": "回答の形式が正しくありません。"})
    errors: dict[str, str] = {}
    clean: dict = {}
    unknown_keys = sorted(set(raw) - set(QUESTIONS_BY_KEY))
    if unknown_keys:
        errors["answers"] = f"知らない項目があります: {', '.join(map(str, unknown_keys))}"
    for question in QUESTIONS:
        value = raw.get(question.key)
        if question.kind == "single":
            if value is None or value == "":
                if question.required:
                    errors[question.key] = _required_message(question.key)
                clean[question.key] = None
            elif isinstance(value, bool) or not isinstance(value, (int, str)) or value not in question.values():
                errors[question.key] = "選択肢の中から選んでください。"
            else:
                clean[question.key] = value
        elif question.kind == "multi":
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[question.key] = "選択肢の中から選んでください。"
            elif set(value) - question.values():
                errors[question.key] = "選択肢の中から選んでください。"
            else:
                # Keep the questionnaire's order so equal answers hash equally.
                clean[question.key] = [c.value for c in question.choices if c.value in value]
        else:
            if value is not None and not isinstance(value, str):
                errors[question.key] = "文字で入力してください。"
            else:
                text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
                if FORBIDDEN_CHARACTERS.search(text):
                    errors[question.key] = "使えない文字が含まれています。"
                elif len(text) > COMMENT.max_length:
                    errors[question.key] = (
                        f"{COMMENT.max_length}文字以内で入力してください（いま{len(text)}文字です）。")
                clean[question.key] = text if text.strip() else None
    return Validated(clean, errors)


def parse_client_uuid(value) -> str | None:
    """Return the canonical form of a client UUID, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def parse_submitted_at(value, now: datetime | None = None) -> tuple[datetime | None, str | None]:
    """Parse an ISO-8601 moment with a UTC offset; return (naive UTC, error message)."""
    now = now or utcnow()
    if value is None:
        return now, None
    if not isinstance(value, str):
        return None, "日時はISO 8601形式の文字列で送ってください。"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None, "日時はISO 8601形式（例: 2025-05-01T09:30:00+09:00）で送ってください。"
    if moment.tzinfo is None:
        return None, "日時には時差（+09:00 や Z）を付けてください。"
    moment = to_utc_naive(moment)
    if moment > now + MAX_CLOCK_SKEW:
        return None, "日時が未来になっています。端末の時計を確認してください。"
    if moment < now - MAX_ANSWER_AGE:
        return None, "日時が古すぎます。"
    return moment, None


def content_hash(facility: Facility, answers: dict, answered_on: date | None = None) -> str:
    content = {"facility": facility.code, "answers": answers}
    if answered_on is not None:  # a paper sheet's written date is part of what was entered
        content["answered_on"] = answered_on.isoformat()
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


@cache
def _insert_ignoring_duplicates(dialect_name: str):
    """INSERT … ON CONFLICT (client_uuid) DO NOTHING, built once per database dialect."""
    insert = postgresql_insert if dialect_name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT (psycopg under
    # SQLAlchemy 2.1 does not report 1 for an inserted row), while a returned id is unambiguous.
    return (insert(Response.__table__).on_conflict_do_nothing(index_elements=["client_uuid"])
            .returning(Response.__table__.c.id))


def response_values(*, client_uuid: str, facility: Facility, device: Device | None, answers: dict,
                    submitted_at: datetime, channel: str, form_version: int = FORM_VERSION,
                    sheet_number: str | None = None, answered_on: date | None = None) -> dict:
    """The row of one validated answer, as `insert_once` stores it."""
    return {
        "client_uuid": client_uuid,
        "facility_id": facility.id,
        "device_id": device.id if device else None,
        "form_version": form_version,
        "channel": channel,
        "sheet_number": sheet_number,
        "submitted_at": submitted_at,
        "received_at": utcnow(),
        "fiscal_year": fiscal_year_of_utc(submitted_at),
        "satisfaction": answers["satisfaction"],
        "establishment": answers["establishment"],
        "respondent_group": answers["respondent_group"],
        "services": answers["services"],
        "comment": answers["comment"],
        "content_hash": content_hash(facility, answers, answered_on),
    }


def insert_once(values: dict):
    """Insert a row unless its client id is stored; return None if inserted, else the stored row.

    One statement decides between a new answer and a re-send, so concurrent re-sends from
    several workers cannot double a response. The caller commits (or rolls back).
    """
    statement = _insert_ignoring_duplicates(db.engine.dialect.name)
    if db.session.execute(statement, values).first() is not None:
        return None
    return db.session.execute(
        select(Response.__table__).where(Response.client_uuid == values["client_uuid"])).mappings().one()


def store_response(*, client_uuid: str, facility: Facility, device: Device | None, answers: dict,
                   submitted_at: datetime, channel: str, form_version: int = FORM_VERSION,
                   sheet_number: str | None = None,
                   answered_on: date | None = None) -> tuple[dict, bool]:
    """Store validated answers once per client id; return (the stored record as JSON, created).

    Raises ConflictError when the id was already used for different answers.
    """
    values = response_values(client_uuid=client_uuid, facility=facility, device=device,
                             answers=answers, submitted_at=submitted_at, channel=channel,
                             form_version=form_version, sheet_number=sheet_number,
                             answered_on=answered_on)
    now = values["received_at"]
    facility_code = facility.code  # read before commit expires the object
    existing = insert_once(values)
    # Touch the device at most once a minute: one write per answer is enough for SQLite.
    if device is not None and (device.last_seen_at is None or now - device.last_seen_at > DEVICE_SEEN_RESOLUTION):
        device.last_seen_at = now
    db.session.commit()
    if existing is None:
        return _record_as_json(values, facility_code), True
    if existing["content_hash"] != values["content_hash"]:
        raise ConflictError(client_uuid)
    return _record_as_json(existing, facility_code), False


def is_stored(client_uuid: str) -> bool:
    return db.session.scalar(select(Response.id).where(Response.client_uuid == client_uuid)) is not None


def recent_submissions(device: Device, window: timedelta = timedelta(minutes=1)) -> int:
    """Count what a device stored lately, for the per-device rate limit."""
    since = utcnow() - window
    return db.session.scalar(
        select(db.func.count()).select_from(Response)
        .where(Response.device_id == device.id, Response.received_at >= since)
    )


def _record_as_json(row, facility_code: str) -> dict:
    return {
        "id": row["client_uuid"],
        "facility": facility_code,
        "form_version": row["form_version"],
        "submitted_at": row["submitted_at"].isoformat(timespec="seconds") + "Z",
        "received_at": row["received_at"].isoformat(timespec="seconds") + "Z",
        "answers": {
            "satisfaction": row["satisfaction"],
            "establishment": row["establishment"],
            "respondent_group": row["respondent_group"],
            "services": list(row["services"] or []),
            "comment": row["comment"],
        },
    }
