"""The tablet survey: enrollment of a tablet, the form, and the thank-you page.

Only a browser enrolled for a facility (a signed device cookie) may show and submit that
facility's form. Pages never keep a previous respondent's answers: they are not cached,
the thank-you page replaces itself with an empty form, and the form resets when idle.
"""
from functools import wraps

from flask import (current_app, g, make_response, redirect, render_template, request,
                   url_for)
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from ..answers import (ConflictError, parse_client_uuid, recent_submissions, store_response,
                       validate_answers)
from ..devices import (complete_enrollment, device_for_enrollment_code, device_from_cookie,
                       set_device_cookie)
from ..extensions import db
from ..facilities import CODE_PATTERN
from ..models import Facility, Response
from ..questionnaire import COMMENT, COMMENT_WARN_FROM, FORM_VERSION, QUESTIONS
from ..timeutil import utcnow
from . import bp
from .forms import FormState, answers_from_form
from .sync import OFFLINE_ASSETS, offline_cache_version

# Polite pages for everything that can go wrong, in plain Japanese.
MESSAGES = {
    "unknown_facility": (
        "ページが見つかりません",
        "このアドレスの施設は見つかりませんでした。お手数ですが、近くの職員にお知らせください。",
    ),
    "not_enrolled": (
        "このタブレットでは回答できません",
        "このタブレットは、まだアンケートの回答用に設定されていません。"
        "お手数ですが、近くの職員にお知らせください。",
    ),
    "bad_enrollment": (
        "この登録用のアドレスは使えません",
        "登録用のアドレスが正しくないか、有効期限が切れているか、すでに使われています。"
        "担当の職員に新しい登録用のアドレスを発行してもらってください。",
    ),
    "rate_limited": (
        "少し時間をおいてください",
        "短い時間に送信が続いたため、受け付けを止めています。"
        "1分ほど待ってから、もう一度お試しください。",
    ),
    "csrf": (
        "もう一度お願いします",
        "画面を長く開いたままだったなどの理由で、送信を受け付けられませんでした。"
        "お手数ですが、最初の画面からもう一度回答してください。",
    ),
}


def _message_page(kind: str, status: int, back_url: str | None = None):
    title, text = MESSAGES[kind]
    return render_template("survey/message.html", title=title, text=text,
                           back_url=back_url), status


@bp.errorhandler(CSRFError)
def _csrf_error(_error):
    facility_code = (request.view_args or {}).get("facility_code")
    back_url = url_for("survey.form", facility_code=facility_code) if facility_code else None
    return _message_page("csrf", 400, back_url)


def enrolled_device_required(view):
    """Load the facility of the URL and require a browser enrolled for exactly it."""

    @wraps(view)
    def wrapped(facility_code: str, **kwargs):
        facility = (db.session.scalar(select(Facility).where(Facility.code == facility_code))
                    if CODE_PATTERN.fullmatch(facility_code) else None)
        if facility is None:
            return _message_page("unknown_facility", 404)
        device = device_from_cookie()
        if device is None or device.facility_id != facility.id:
            return _message_page("not_enrolled", 403)
        g.facility, g.device = facility, device
        return view(facility_code=facility_code, **kwargs)

    return wrapped


def _kiosk_timings() -> dict:
    config = current_app.config
    return {
        "idle_seconds": config["KIOSK_IDLE_SECONDS"],
        "countdown_seconds": config["KIOSK_COUNTDOWN_SECONDS"],
        "thanks_seconds": config["KIOSK_THANKS_SECONDS"],
    }


def _offline_settings(facility_code: str) -> dict:
    """What the offline queue script reads from every tablet page (data-* attributes)."""
    config = current_app.config
    return {
        "facility": facility_code,
        "form_version": FORM_VERSION,
        "cache_version": offline_cache_version(),
        "sw_url": url_for("survey.service_worker"),
        "sw_scope": url_for("survey.form", facility_code=facility_code).rsplit("/", 1)[0] + "/",
        "api_url": url_for("api.submit_response"),
        "heartbeat_url": url_for("api.heartbeat"),
        "form_url": url_for("survey.form", facility_code=facility_code),
        "thanks_url": url_for("survey.thanks", facility_code=facility_code),
        "staff_url": url_for("survey.staff", facility_code=facility_code),
        "retry_min_seconds": config["SYNC_RETRY_MIN_SECONDS"],
        "retry_max_seconds": config["SYNC_RETRY_MAX_SECONDS"],
        "heartbeat_seconds": config["SYNC_HEARTBEAT_SECONDS"],
    }


def _render_form(state: FormState, status: int = 200):
    # The text size is the visitor's own: kept on a page shown again with a message, never
    # stored; a fresh form (after the thank-you page, やり直す or idle) starts at 標準.
    text_size = "large" if request.form.get("text_size") == "large" else "standard"
    return render_template("survey/form.html", facility=g.facility, questions=QUESTIONS,
                           comment_max_length=COMMENT.max_length,
                           comment_warn_from=COMMENT_WARN_FROM, state=state, text_size=text_size,
                           timings=_kiosk_timings(),
                           offline=_offline_settings(g.facility.code)), status


@bp.get("/")
def index():
    device = device_from_cookie()
    if device is not None:
        return redirect(url_for("survey.form", facility_code=device.facility.code))
    return render_template("survey/index.html")


@bp.get("/f/<facility_code>")
@enrolled_device_required
def form(facility_code: str):
    return _render_form(FormState())


@bp.post("/f/<facility_code>")
@enrolled_device_required
def submit(facility_code: str):
    client_uuid = parse_client_uuid(request.form.get("client_uuid"))
    validated = validate_answers(answers_from_form(request.form))
    if client_uuid is None:
        # Only a broken or tampered page lacks its id; ask for one more tap with a fresh id.
        return _render_form(FormState.from_form(
            request.form, validated.errors,
            message="送信できませんでした。お手数ですが、もう一度「送信する」を押してください。"), 422)
    if validated.errors:
        return _render_form(FormState.from_form(request.form, validated.errors, client_uuid), 422)

    already_stored = db.session.scalar(select(Response.id).where(Response.client_uuid == client_uuid))
    limit = current_app.config["SURVEY_RATE_LIMIT_PER_MINUTE"]
    # A re-send of a stored answer (double tap) is not a new submission: never limit it.
    if limit and already_stored is None and recent_submissions(g.device) >= limit:
        response = make_response(_message_page(
            "rate_limited", 429, url_for("survey.form", facility_code=facility_code)))
        response.headers["Retry-After"] = "60"
        return response
    try:
        store_response(client_uuid=client_uuid, facility=g.facility, device=g.device,
                       answers=validated.answers, submitted_at=utcnow(), channel="tablet")
    except ConflictError:
        # The id was spent on other answers (e.g. a page restored from history): new id.
        return _render_form(FormState.from_form(
            request.form, {},
            message="送信できませんでした。内容を確かめて、もう一度「送信する」を押してください。"), 409)
    return redirect(url_for("survey.thanks", facility_code=facility_code), 303)


@bp.get("/f/<facility_code>/thanks")
@enrolled_device_required
def thanks(facility_code: str):
    return render_template("survey/thanks.html", facility=g.facility,
                           form_url=url_for("survey.form", facility_code=facility_code),
                           timings=_kiosk_timings(), offline=_offline_settings(facility_code))


@bp.get("/f/<facility_code>/staff")
@enrolled_device_required
def staff(facility_code: str):
    """The staff view of the tablet's offline queue; its figures come from the browser itself.

    It shows counts, times and refusal reasons, never an answer, so a staff gesture is
    enough to open it (survey-form.js) and a respondent who finds it learns nothing.
    """
    return render_template("survey/staff.html", facility=g.facility,
                           timings=_kiosk_timings(), offline=_offline_settings(facility_code))


@bp.get("/sw.js")
def service_worker():
    """The service worker; its bytes change with the cache version, so tablets update."""
    body = render_template("survey/sw.js", cache_version=offline_cache_version(),
                           assets=[url_for("static", filename=name) for name in OFFLINE_ASSETS])
    response = make_response(body)
    response.mimetype = "text/javascript"
    return response


@bp.get("/enroll/<code>")
def enroll(code: str):
    device = device_for_enrollment_code(code)
    if device is None:
        return _message_page("bad_enrollment", 404)
    return render_template("survey/enroll.html", facility=device.facility, code=code)


@bp.post("/enroll/<code>")
def enroll_confirm(code: str):
    device = device_for_enrollment_code(code)
    # Another browser may have spent the code since it was read: only the one that spent it enrolls.
    if device is None or not complete_enrollment(device):
        return _message_page("bad_enrollment", 404)
    response = redirect(url_for("survey.form", facility_code=device.facility.code), 303)
    set_device_cookie(response, device)
    return response
