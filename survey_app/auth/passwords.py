"""Password hashing and the password rules shared by the login, the admin pages and the CLI.

Hashes are werkzeug's scrypt (``scrypt:32768:8:1$salt$hash``). Plain passwords are never
stored, logged or put in an exception message.
"""
from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD_LENGTH = 10
# Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 128
HASH_METHOD = "scrypt"

# Hash of a random secret, so that a login for an unknown user costs the same time as one
# for a real user (no user enumeration by timing). Created lazily on first use.
_dummy_hash: str | None = None


class PasswordPolicyError(ValueError):
    """A new password breaks a rule; `str()` is English (CLI), `.ja` is Japanese (pages)."""

    def __init__(self, message: str, ja: str):
        super().__init__(message)
        self.ja = ja


def hash_password(password: str) -> str:
    """Return the scrypt hash of a password."""
    return generate_password_hash(password, method=HASH_METHOD)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a hash; with no hash, spend the same time and return False."""
    global _dummy_hash
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH + 1]
    if not password_hash:
        if _dummy_hash is None:
            import secrets

            _dummy_hash = hash_password(secrets.token_hex(16))
        check_password_hash(_dummy_hash, password)
        return False
    return check_password_hash(password_hash, password)


def check_password_policy(password: str, username: str = "") -> None:
    """Raise PasswordPolicyError if a new password breaks a rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters long",
            f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password must be at most {MAX_PASSWORD_LENGTH} characters long",
            f"パスワードは{MAX_PASSWORD_LENGTH}文字以内にしてください。")
    if password.strip() != password or not password.strip():
        raise PasswordPolicyError(
            "the password must not start or end with spaces",
            "パスワードの最初と最後に空白は使えません。")
    if username and password.lower() == username.lower():
        raise PasswordPolicyError(
            "the password must not be the same as the username",
            "ユーザー名と同じパスワードは使えません。")
    if len(set(password)) < 4:
        raise PasswordPolicyError(
            "the password is too simple (use at least 4 different characters)",
            "パスワードが単純すぎます。4種類以上の文字を使ってください。")
