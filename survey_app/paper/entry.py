"""Store answers typed in from paper sheets: once per sheet, and never over other answers.

The entry screen and the spreadsheet import both end here, and from here in
`answers.validate_answers` and `answers.insert_once`, the tablet's own validation and insert.
A sheet's client id is derived from its number, so the same sheet typed twice is one row; typed
again with other answers it is a conflict, shown to the person typing and stored nowhere.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from ..answers import MAX_ANSWER_AGE, insert_once, response_values
from ..extensions import db
from ..models import Facility, PaperSheet, Response
from ..timeutil import TOKYO, to_tokyo, to_utc_naive, utcnow
from .sheets import client_uuid_for

DATE_PATTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
# A paper answer has a day, not a time: it is stored at noon of that day in Tokyo.
NOON = time(12, 0)


@dataclass
class PaperAnswer:
    """One sheet's validated answers, ready to store."""

    number: str
    sheet: PaperSheet
    answers: dict
    answered_on: date


class PaperConflict(Exception):
    """The sheet is stored with other answers; `stored` holds them (the API's answer shape)."""

    def __init__(self, number: str, stored: dict):
        super().__init__(f"sheet {number} is stored with other answers")
        self.number = number
        self.stored = stored


def today_tokyo() -> date:
    return to_tokyo(utcnow()).date()


def parse_answered_on(text: str) -> tuple[date | None, str | None]:
    """Parse 「2025-05-01」 or 「2025/5/1」 (full-width too); return (day, Japanese error)."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    if not cleaned:
        return None, "記入日を入力してください（例: 2025-05-01）。"
    match = DATE_PATTERN.match(cleaned)
    try:
        day = date(*map(int, match.groups())) if match else None
    except ValueError:
        day = None
    if day is None:
        return None, f"記入日「{cleaned}」は日付として読めません（例: 2025-05-01）。"
    today = today_tokyo()
    if day > today:
        return None, f"記入日「{day.isoformat()}」が未来の日付です。"
    if day < today - MAX_ANSWER_AGE:
        return None, f"記入日「{day.isoformat()}」が古すぎます（{MAX_ANSWER_AGE.days}日より前）。"
    return day, None


def submitted_at_of(day: date) -> datetime:
    return to_utc_naive(datetime.combine(day, NOON, tzinfo=TOKYO))


def stored_answers(number: str) -> dict | None:
    """The answers stored for a sheet, or None."""
    row = db.session.scalar(select(Response).where(Response.sheet_number == number))
    if row is None:
        return None
    return {"satisfaction": row.satisfaction, "establishment": row.establishment,
            "respondent_group": row.respondent_group, "services": list(row.services or []),
            "comment": row.comment, "answered_on": to_tokyo(row.submitted_at).date()}


def _values(answer: PaperAnswer, facility: Facility) -> dict:
    return response_values(client_uuid=client_uuid_for(answer.number), facility=facility, device=None,
                           answers=answer.answers, submitted_at=submitted_at_of(answer.answered_on),
                           channel="paper", sheet_number=answer.number, answered_on=answer.answered_on)


def store_paper_answers(answers: list[PaperAnswer]) -> tuple[int, int]:
    """Store sheets in one transaction; return (stored, already stored alike).

    Raises PaperConflict for the first sheet stored with other answers, and then stores none
    of them: a file is imported whole or not at all.
    """
    facilities = {f.id: f for f in db.session.scalars(
        select(Facility).where(Facility.id.in_({a.sheet.facility_id for a in answers})))}
    created = unchanged = 0
    try:
        for answer in answers:
            values = _values(answer, facilities[answer.sheet.facility_id])
            existing = insert_once(values)
            if existing is None:
                created += 1
            elif existing["content_hash"] == values["content_hash"]:
                unchanged += 1
            else:
                raise PaperConflict(answer.number, stored_answers(answer.number))
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return created, unchanged
