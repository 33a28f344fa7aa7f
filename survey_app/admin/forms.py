"""Forms of the admin pages (Japanese labels and messages; CSRF through Flask-WTF)."""
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth.accounts import USERNAME_PATTERN, find_user, normalize_username
from ..auth.forms import NewPasswordMixin, new_password_fields
from ..extensions import db
from ..models import FACILITY_ROLES, ROLES, Facility
from ..prefectures import facility_key


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def facility_choices() -> list[SelectChoice]:
    """Return a choice (code, 「都道府県 施設名」) for every facility, by prefecture and code."""
    facilities = sorted(db.session.scalars(select(Facility)), key=facility_key)
    return [SelectChoice(f.code, f"{f.prefecture}　{f.name}") for f in facilities]


class RoleFacilitiesMixin:
    def validate_facilities(self, field):
        if self.role.data in FACILITY_ROLES and not field.data:
            raise ValidationError(f"{ROLES[self.role.data]}には、担当する施設を1つ以上選んでください。")


class UserEditForm(RoleFacilitiesMixin, FlaskForm):
    role = RadioField("役割", choices=[SelectChoice(key, label) for key, label in ROLES.items()],
                      validators=[DataRequired("役割を選んでください。")],
                      invalid_choice_message="役割を選んでください。")
    facilities = CheckboxListField("担当施設（施設管理者・入力担当のみ）", validate_choice=True,
                                   invalid_choice_message="選べない施設が含まれています。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.facilities.choices = facility_choices()


class UserCreateForm(NewPasswordMixin, UserEditForm):
    username = StringField("ユーザー名", validators=[DataRequired("ユーザー名を入力してください。")])
    new_password, confirm = new_password_fields()

    def validate_username(self, field):
        username = normalize_username(field.data)
        if not USERNAME_PATTERN.match(username):
            raise ValidationError(
                "ユーザー名は、半角英小文字・数字・「.」「_」「-」で3〜64文字にしてください。")
        if find_user(username) is not None:
            raise ValidationError("そのユーザー名はすでに使われています。")
        self.username_for_policy = username


class PasswordResetForm(NewPasswordMixin, FlaskForm):
    new_password, confirm = new_password_fields()


class ActionForm(FlaskForm):
    """Only the CSRF token: for the disable / enable / unlock buttons."""


class DeviceEnrollForm(FlaskForm):
    """A new tablet: its facility and a name staff recognise it by (e.g. 受付横)."""

    facility = SelectField("施設", validators=[DataRequired("施設を選んでください。")],
                           invalid_choice_message="選べない施設です。")
    label = StringField("端末の名前（任意）", filters=[lambda value: " ".join((value or "").split())],
                        validators=[Length(max=100, message="端末の名前は100文字以内にしてください。")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.facility.choices = [SelectChoice("", "選んでください"), *facility_choices()]

    def validate_label(self, field):
        if any(not ch.isprintable() for ch in field.data):
            raise ValidationError("端末の名前に使えない文字が含まれています。")
