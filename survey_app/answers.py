"""Validate a respondent's answers and store them exactly once.

Both the tablet form and the JSON API end here, so both accept and refuse the same things.
Error messages are Japanese because respondents and tablet staff read them.
"""
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import Device, Facility, Response
from .questionnaire import COMMENT, FORM_VERSION, QUESTIONS, QUESTIONS_BY_KEY
from .timeutil import fiscal_year_of_utc, to_utc_naive, utcnow

# Control characters other than tab and newlines, and lone surrogates, cannot be stored
# safely (PostgreSQL refuses NUL) and never come from a real keyboard.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_CLOCK_SKEW = timedelta(minutes=10)
MAX_ANSWER_AGE = timedelta(days=400)


class ConflictError(Exception):
    """The same client id was already used for different answers."""

    def __init__(self, existing: Response):
        super().__init__(f"response {existing.client_uuid} exists with other content")
        self.existing = existing


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
            elif isinstance(value, bool) or value not in question.values():
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


def content_hash(facility: Facility, answers: dict) -> str:
    payload = json.dumps({"facility": facility.code, "answers": answers},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def store_response(*, client_uuid: str, facility: Facility, device: Device | None, answers: dict,
                   submitted_at: datetime, source: str,
                   form_version: int = FORM_VERSION) -> tuple[Response, bool]:
    """Store validated answers once per client id; return (response, created).

    Raises ConflictError when the id was already used for different answers.
    """
    digest = content_hash(facility, answers)
    existing = db.session.scalar(select(Response).where(Response.client_uuid == client_uuid))
    if existing is None:
        response = Response(
            client_uuid=client_uuid,
            facility_id=facility.id,
            device_id=device.id if device else None,
            form_version=form_version,
            source=source,
            submitted_at=submitted_at,
            received_at=utcnow(),
            fiscal_year=fiscal_year_of_utc(submitted_at),
            satisfaction=answers["satisfaction"],
            establishment=answers["establishment"],
            respondent_group=answers["respondent_group"],
            services=answers["services"],
            comment=answers["comment"],
            content_hash=digest,
        )
        db.session.add(response)
        if device is not None:
            device.last_seen_at = utcnow()
        try:
            db.session.commit()
            return response, True
        except IntegrityError:
            # Another worker stored the same id between our read and our write.
            db.session.rollback()
            existing = db.session.scalar(select(Response).where(Response.client_uuid == client_uuid))
            if existing is None:
                raise
    if existing.content_hash != digest:
        raise ConflictError(existing)
    return existing, False


def recent_submissions(device: Device, window: timedelta = timedelta(minutes=1)) -> int:
    """Count what a device stored lately, for the per-device rate limit."""
    since = utcnow() - window
    return db.session.scalar(
        select(db.func.count()).select_from(Response)
        .where(Response.device_id == device.id, Response.received_at >= since)
    )


def response_as_json(response: Response) -> dict:
    return {
        "id": response.client_uuid,
        "facility": response.facility.code,
        "form_version": response.form_version,
        "submitted_at": response.submitted_at.isoformat(timespec="seconds") + "Z",
        "received_at": response.received_at.isoformat(timespec="seconds") + "Z",
        "answers": {
            "satisfaction": response.satisfaction,
            "establishment": response.establishment,
            "respondent_group": response.respondent_group,
            "services": list(response.services or []),
            "comment": response.comment,
        },
    }
