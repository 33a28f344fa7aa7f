"""Admin pages: the user list, creating and editing users, and the audit log. Admins only."""
from flask import flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from .. import audit
from ..auth.access import current_user, roles_required
from ..auth.accounts import (AccountError, create_user, disable_user, enable_user,
                             set_password, set_role_and_facilities, unlock_user)
from ..extensions import db
from ..inputs import int_arg
from ..models import FACILITY_ROLES, ROLES, AuditEvent, User
from ..timeutil import to_tokyo, utcnow
from . import bp
from .forms import ActionForm, PasswordResetForm, UserCreateForm, UserEditForm

AUDIT_PER_PAGE = 50


@bp.errorhandler(CSRFError)
def _csrf_error(_error):
    return render_template(
        "auth/message.html", title="もう一度お試しください",
        text="画面を長く開いたままだったなどの理由で、送信を受け付けられませんでした。"
             "お手数ですが、画面を開き直してからもう一度お試しください。",
        link=(url_for("admin.users"), "ユーザー一覧へ")), 400


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


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    page = db.paginate(
        select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()),
        page=int_arg("page") or 1, per_page=AUDIT_PER_PAGE, max_per_page=AUDIT_PER_PAGE, error_out=False)
    user_ids = {event.user_id for event in page.items if event.user_id is not None}
    usernames = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    return render_template("admin/audit.html", page=page, usernames=usernames,
                           action_label=audit.action_label)
