"""Forms of the login pages (Japanese labels and messages; CSRF through Flask-WTF)."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .passwords import MAX_PASSWORD_LENGTH, PasswordPolicyError, check_password_policy


class LoginForm(FlaskForm):
    username = StringField("ユーザー名", validators=[
        DataRequired("ユーザー名を入力してください。"), Length(max=64, message="ユーザー名が長すぎます。")])
    password = PasswordField("パスワード", validators=[
        DataRequired("パスワードを入力してください。"),
        Length(max=MAX_PASSWORD_LENGTH, message="パスワードが長すぎます。")])
    next = HiddenField()


def new_password_fields():
    """Return the new-password and confirmation fields used by several forms."""
    new_password = PasswordField("新しいパスワード", validators=[DataRequired("新しいパスワードを入力してください。")])
    confirm = PasswordField("新しいパスワード（確認）", validators=[
        DataRequired("確認のため、もう一度入力してください。"),
        EqualTo("new_password", message="確認用のパスワードが一致しません。")])
    return new_password, confirm


class NewPasswordMixin:
    """Check the password rules for `new_password` against `username_for_policy`."""

    username_for_policy = ""

    def validate_new_password(self, field):
        try:
            check_password_policy(field.data or "", self.username_for_policy)
        except PasswordPolicyError as error:
            raise ValidationError(error.ja) from None


class PasswordChangeForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField("今のパスワード", validators=[DataRequired("今のパスワードを入力してください。")])
    new_password, confirm = new_password_fields()


class LogoutForm(FlaskForm):
    """Only the CSRF token: logout is a POST."""
