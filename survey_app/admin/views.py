"""Admin pages: users, tablets (enroll, list, revoke) and the audit log (filter, CSV). Admins only."""
import re
from datetime import date

from flask import Response, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..errors import handle_csrf_errors
from .. import audit
from ..devices import DEVICE_STATES, create_device, device_state, enrollment_url, revoke_device
from ..prefectures import facility_key
from ..reports.devices import STALE_AFTER
from ..reports.exports import BOM, attachment, csv_line
from ..auth.access import current_user, roles_required
from ..auth.accounts import (AccountError, create_user, disable_user, enable_user,
                             set_password, set_role_and_facilities, unlock_user)
from ..extensions import db
from ..inputs import int_arg
from ..models import FACILITY_ROLES, ROLES, Device, Facility, User
from ..timeutil import to_tokyo, utcnow
from . import bp
from .forms import ActionForm, DeviceEnrollForm, PasswordResetForm, UserCreateForm, UserEditForm

AUDIT_PER_PAGE = 50
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AUDIT_CSV_HEADERS = ("日時（日本時間）", "ユーザー", "操作", "操作コード", "対象")


handle_csrf_errors(bp, "admin.users", "ユーザー一覧へ")


@bp.app_template_filter("tokyo_time")
def _tokyo_time(moment) -> str:
    """Show a stored UTC time in Tokyo time, e.g. 2025-04-01 09:30."""
    return to_tokyo(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _status(user: User) -> str:
    if user.disabled_at is not None:
        return "停止中"
    if user.locked_until is not None and user.locked_until > utcnow():
        return "ログイン停止中（失敗の繰り返し）"
    return "有効"


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/")
@roles_required("admin")
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
@roles_required("admin")
def users():
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=rows, status_of=_status, roles=ROLES)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    form = UserCreateForm()
    if request.method == "GET":
        form.role.data = "manager"
    if form.validate_on_submit():
        codes = form.facilities.data if form.role.data in FACILITY_ROLES else []
        try:
            user = create_user(form.username.data, form.role.data, form.new_password.data, codes)
        except (AccountError, ValueError) as error:
            db.session.rollback()
            form.username.errors.append(getattr(error, "ja", "ユーザーを作成できませんでした。"))
        else:
            audit.record("admin.user_created", user.username)
            flash(f"ユーザー「{user.username}」を作成しました。", "success")
            return redirect(url_for("admin.edit", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


def _render_edit(user: User, form: UserEditForm | None = None,
                 password_form: PasswordResetForm | None = None, status: int = 200):
    if form is None:
        form = UserEditForm(formdata=None, role=user.role)
        form.facilities.data = [f.code for f in user.facilities]
    return render_template("admin/user_edit.html", user=user, form=form,
                           password_form=password_form or PasswordResetForm(formdata=None),
                           action_form=ActionForm(), status=_status(user),
                           is_self=user.id == current_user.id, roles=ROLES), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(user_id: int):
    user = _user_or_404(user_id)
    if request.method == "GET":
        return _render_edit(user)
    form = UserEditForm()
    if user.id == current_user.id and form.role.data != user.role:
        form.role.errors = ["自分自身の役割は変更できません（管理者がいなくなるのを防ぐため）。"]
        return _render_edit(user, form)
    if not form.validate_on_submit():
        return _render_edit(user, form)
    codes = form.facilities.data if form.role.data in FACILITY_ROLES else []
    try:
        set_role_and_facilities(user, form.role.data, codes)
    except AccountError as error:
        db.session.rollback()
        form.facilities.errors = [error.ja]
        return _render_edit(user, form)
    audit.record("admin.user_updated", user.username)
    flash("役割と担当施設を保存しました。", "success")
    return redirect(url_for("admin.edit", user_id=user.id))


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    password_form = PasswordResetForm()
    password_form.username_for_policy = user.username
    if not password_form.validate_on_submit():
        return _render_edit(user, password_form=password_form)
    set_password(user, password_form.new_password.data)
    audit.record("admin.password_reset", user.username)
    flash("パスワードを再設定しました。このユーザーのログイン中の画面はすべてログアウトされます。", "success")
    return redirect(url_for("admin.edit", user_id=user.id))


def _account_action(user_id: int, change, action: str, message: str, allow_self: bool = True):
    user = _user_or_404(user_id)
    ActionForm()  # the CSRF token was checked by CSRFProtect before this view
    if not allow_self and user.id == current_user.id:
        flash("自分自身には、この操作はできません。", "error")
        return redirect(url_for("admin.edit", user_id=user.id))
    change(user)
    audit.record(action, user.username)
    flash(message, "success")
    return redirect(url_for("admin.edit", user_id=user.id))


@bp.post("/users/<int:user_id>/disable")
@roles_required("admin")
def disable(user_id: int):
    return _account_action(user_id, disable_user, "admin.user_disabled",
                           "ユーザーを停止しました。ログイン中の画面もログアウトされます。", allow_self=False)


@bp.post("/users/<int:user_id>/enable")
@roles_required("admin")
def enable(user_id: int):
    return _account_action(user_id, enable_user, "admin.user_enabled", "ユーザーを再開しました。")


@bp.post("/users/<int:user_id>/unlock")
@roles_required("admin")
def unlock(user_id: int):
    return _account_action(user_id, unlock_user, "admin.user_unlocked", "ログインの停止を解除しました。")


# ---------------------------------------------------------------------------- tablets

def _device_rows(now) -> list[dict]:
    devices = db.session.scalars(select(Device).options(joinedload(Device.facility))).all()
    devices.sort(key=lambda d: (facility_key(d.facility), d.id))
    return [{"device": d, "state": device_state(d, now), "state_label": DEVICE_STATES[device_state(d, now)],
             "stale": d.last_seen_at is None or now - d.last_seen_at > STALE_AFTER} for d in devices]


def _render_devices(form: DeviceEnrollForm, status: int = 200):
    return render_template("admin/devices.html", rows=_device_rows(utcnow()), form=form,
                           action_form=ActionForm()), status


@bp.get("/devices")
@roles_required("admin")
def devices():
    return _render_devices(DeviceEnrollForm(formdata=None))


@bp.post("/devices")
@roles_required("admin")
def enroll_device():
    """Create a tablet and show its one-time link and API token, once: neither is stored."""
    form = DeviceEnrollForm()
    if not form.validate_on_submit():
        return _render_devices(form, 400)
    facility = db.session.scalar(select(Facility).where(Facility.code == form.facility.data))
    device, token, code = create_device(facility, form.label.data)
    audit.record("admin.device_enrolled", f"device {device.id} {facility.code}")
    return render_template("admin/device_created.html", device=device, facility=facility, token=token,
                           url=enrollment_url(code, request.url_root),
                           hours=current_app.config["ENROLLMENT_VALID_HOURS"]), 201


@bp.post("/devices/<int:device_id>/revoke")
@roles_required("admin")
def revoke(device_id: int):
    device = db.get_or_404(Device, device_id)
    ActionForm()  # the CSRF token was checked by CSRFProtect before this view
    if revoke_device(device):
        audit.record("admin.device_revoked", f"device {device.id} {device.facility.code}")
        flash(f"端末「{device.label or f'端末{device.id}'}」（{device.facility.name}）を取り消しました。"
              "この端末からの回答は受け付けられなくなります。", "success")
    else:
        flash("この端末はすでに取り消されています。", "info")
    return redirect(url_for("admin.devices"))


# ---------------------------------------------------------------------------- audit log

def _date_arg(name: str, label: str, errors: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if not DATE_PATTERN.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{label}は 2025-04-01 のように年-月-日で入力してください。")
        return None


def _audit_filter() -> tuple[audit.AuditFilter, dict, list[str]]:
    """The filter of the query string, the arguments to keep in links, and Japanese errors."""
    errors: list[str] = []
    username = request.args.get("user", "").strip()
    user_id = None
    if username:
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            errors.append("そのユーザーは見つかりません。")
    action = request.args.get("action", "").strip() or None
    if action and action not in audit.ACTION_LABELS:
        errors.append("その操作は選べません。")
    start = _date_arg("from", "開始日", errors)
    end = _date_arg("to", "終了日", errors)
    if start and end and start > end:
        errors.append("開始日が終了日より後になっています。")
    args = {"user": username or None, "action": action, "from": start and start.isoformat(),
            "to": end and end.isoformat()}
    return (audit.AuditFilter(user_id=user_id, action=action, start=start, end=end),
            {key: value for key, value in args.items() if value}, errors)


def _usernames(user_ids) -> dict[int, str]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    filters, args, errors = _audit_filter()
    page = None
    if not errors:
        page = db.paginate(filters.statement(), page=int_arg("page") or 1, per_page=AUDIT_PER_PAGE,
                           max_per_page=AUDIT_PER_PAGE, error_out=False)
    return render_template(
        "admin/audit.html", page=page, errors=errors, args=args,
        usernames=_usernames(event.user_id for event in page.items) if page else {},
        action_label=audit.action_label, actions=audit.ACTION_LABELS,
        all_usernames=db.session.scalars(select(User.username).order_by(User.username)).all(),
    ), 400 if errors else 200


@bp.get("/audit.csv")
@roles_required("admin")
def audit_csv():
    """The filtered audit log as CSV (UTF-8 with BOM), every page, newest first."""
    filters, args, errors = _audit_filter()
    if errors:
        return render_template("auth/message.html", title="条件を確かめてください", text="".join(errors),
                               link=(url_for("admin.audit_log"), "操作記録へ")), 400
    audit.record("admin.audit_exported", " ".join(f"{k}={v}" for k, v in args.items()) or "all")

    def generate():
        yield BOM + csv_line(AUDIT_CSV_HEADERS)
        for events in _batches(filters.statement()):
            names = _usernames(event.user_id for event in events)
            yield "".join(csv_line([to_tokyo(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                                    names.get(e.user_id, ""), audit.action_label(e.action), e.action,
                                    e.target]) for e in events)

    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers=attachment("audit_log.csv"))


def _batches(statement, size: int = 1000):
    offset = 0
    while True:
        events = db.session.scalars(statement.limit(size).offset(offset)).all()
        if events:
            yield events
        if len(events) < size:
            return
        offset += size
