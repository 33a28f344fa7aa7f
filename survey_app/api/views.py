"""API views: facilities, the questionnaire, and idempotent response submission."""
from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from sqlalchemy import select

from ..answers import (ConflictError, is_stored, parse_client_uuid, parse_submitted_at,
                       recent_submissions, store_response, validate_answers)
from ..devices import device_for_token
from ..extensions import csrf, db
from ..facilities import CODE_PATTERN
from ..models import Facility
from ..questionnaire import FORM_VERSION, as_json
from ..survey.sync import device_from_tablet_page, note_queue_report
from . import bp

KNOWN_BODY_KEYS = {"id", "facility", "submitted_at", "answers", "form_version"}


def _error(status: int, message: str, errors: list | None = None, headers: dict | None = None):
    body = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status, headers or {}


@bp.get("/facilities")
def facilities():
    rows = db.session.scalars(select(Facility).order_by(Facility.code))
    return jsonify([{"code": f.code, "name": f.name, "prefecture": f.prefecture} for f in rows])


@bp.get("/form")
def form():
    return jsonify(as_json())


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _field_errors(body: dict) -> tuple[list[dict], dict]:
    """Validate the whole body; return (errors, parsed parts)."""
    errors: list[dict] = []
    parsed: dict = {}
    for key in sorted(set(body) - KNOWN_BODY_KEYS):
        errors.append({"field": str(key), "message": "知らない項目です。"})
    parsed["id"] = parse_client_uuid(body.get("id"))
    if parsed["id"] is None:
        errors.append({"field": "id", "message": "id にはUUIDを指定してください。"})
    facility_code = body.get("facility")
    # Checked against the code pattern before any query: a lone surrogate cannot even be encoded.
    if not isinstance(facility_code, str) or not CODE_PATTERN.fullmatch(facility_code):
        errors.append({"field": "facility", "message": "facility に施設コード（英小文字・数字・ハイフン）を指定してください。"})
    else:
        parsed["facility_code"] = facility_code
    form_version = body.get("form_version", FORM_VERSION)
    if isinstance(form_version, bool) or not isinstance(form_version, int) or not 1 <= form_version <= FORM_VERSION:
        errors.append({"field": "form_version", "message": "知らない質問票の版です。"})
    parsed["form_version"] = form_version
    parsed["submitted_at"], message = parse_submitted_at(body.get("submitted_at"))
    if message:
        errors.append({"field": "submitted_at", "message": message})
    if "answers" not in body:
        errors.append({"field": "answers", "message": "answers がありません。"})
    else:
        validated = validate_answers(body["answers"])
        parsed["answers"] = validated.answers
        errors.extend({"field": "answers" if key == "answers" else f"answers.{key}", "message": message}
                      for key, message in validated.errors.items())
    return errors, parsed


@bp.post("/responses")
@csrf.exempt  # authenticated by the device's bearer token, not by a browser session
def submit_response():
    device = _requesting_device()
    if device is None:
        return _error(401, "端末のトークンがないか、正しくありません。",
                      headers={"WWW-Authenticate": 'Bearer realm="survey"'})
    # The tablet's offline queue reports its size with each call (X-Survey-Pending).
    note_queue_report(device, commit=False)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(422, "本文はJSONオブジェクトで送ってください。",
                      [{"field": "body", "message": "JSONとして読めません。"}])
    errors, parsed = _field_errors(body)
    facility = None
    if code := parsed.get("facility_code"):
        facility = (device.facility if code == device.facility.code else
                    db.session.scalar(select(Facility).where(Facility.code == code)))
        if facility is None:
            errors.append({"field": "facility", "message": "その施設コードはありません。"})
    if errors:
        return _error(422, "入力に誤りがあります。", errors)
    if facility.id != device.facility_id:
        return _error(403, "この端末は別の施設に登録されています。")
    limit = current_app.config["SURVEY_RATE_LIMIT_PER_MINUTE"]
    # A re-send of a stored answer is never rate-limited: the client must learn it landed.
    if limit and recent_submissions(device) >= limit and not is_stored(parsed["id"]):
        return _error(429, "送信が多すぎます。しばらく待ってから送ってください。",
                      headers={"Retry-After": "60"})
    try:
        record, created = store_response(
            client_uuid=parsed["id"], facility=facility, device=device, answers=parsed["answers"],
            submitted_at=parsed["submitted_at"], channel="api", form_version=parsed["form_version"])
    except ConflictError:
        return _error(409, "同じ id で別の内容の回答がすでに保存されています。")
    return jsonify(record), 201 if created else 200


def _requesting_device():
    """The device of a bearer token, or of the tablet page's own cookie (see survey/sync.py)."""
    token = _bearer_token()
    if token:
        return device_for_token(token)
    return device_from_tablet_page()


@bp.post("/heartbeat")
@csrf.exempt  # bearer token, or device cookie with the same-origin checks of survey/sync.py
def heartbeat():
    """Let a tablet say it is alive and how many answers wait in its offline queue."""
    device = _requesting_device()
    if device is None:
        return _error(401, "端末のトークンがないか、正しくありません。",
                      headers={"WWW-Authenticate": 'Bearer realm="survey"'})
    body = request.get_json(silent=True)
    counts = {}
    for key in ("pending", "rejected"):
        value = body.get(key) if isinstance(body, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
            return _error(422, "入力に誤りがあります。",
                          [{"field": key, "message": "0以上の整数を指定してください。"}])
        counts[key] = value
    note_queue_report(device, counts["pending"], counts["rejected"])
    return jsonify({"form_version": FORM_VERSION}), 200


@bp.errorhandler(HTTPException)
def json_http_error(error: HTTPException):
    """Answer API clients in JSON, also for errors raised before a view runs (413, 405)."""
    messages = {413: "リクエストが大きすぎます。", 405: "このメソッドは使えません。", 404: "見つかりません。"}
    return _error(error.code or 500, messages.get(error.code, error.description or "エラーです。"))
