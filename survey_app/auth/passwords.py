"""Password hashing and the password rules shared by the login, the admin pages and the CLI.

Hashes are werkzeug's scrypt (``scrypt:32768:8:1$salt$hash``). Plain passwords are never
stored, logged or put in an exception message. The rules follow NIST SP 800-63B: a minimum
length and no composition rules, but no common, patterned or username-containing passwords.
Passwords are NFKC-normalised before they are checked or hashed, so ｐａｓｓ１ is pass1 and a
password typed with another keyboard or IME width still logs in.
"""
import re
import secrets
import unicodedata
from functools import cache
from importlib.resources import files

from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 128
HASH_METHOD = "scrypt"

# What the forms say about the rules, next to the new-password field.
PASSWORD_RULES_JA = (f"{MIN_PASSWORD_LENGTH}文字以上にしてください。よく使われているパスワード"
                     "（数字や記号を付け足しただけのものを含む）や、ユーザー名を含むものは使えません。")

# Keyboard rows and runs of letters and digits: a password inside one (either way) is a
# pattern, not a secret.
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890123456789", "qwertyuiopasdfghjklzxcvbnm",
              "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "1q2w3e4r5t6y7u8i9o0p", "!@#$%^&*()")
_AFFIXES = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$")
_LEET = str.maketrans("013457@$!", "oieastasi")

# Hash of a random secret, so that a login for an unknown user costs the same time as one
# for a real user (no user enumeration by timing). Created lazily on first use.
_dummy_hash: str | None = None


class PasswordPolicyError(ValueError):
    """A new password breaks a rule; `str()` is English (CLI), `.ja` is Japanese (pages)."""

    def __init__(self, message: str, ja: str):
        super().__init__(message)
        self.ja = ja


def normalize_password(password: str) -> str:
    """Return the NFKC form of a password: the form that is checked and hashed."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """Return the scrypt hash of a password's NFKC form."""
    return generate_password_hash(normalize_password(password), method=HASH_METHOD)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a hash; with no hash, spend the same time and return False."""
    global _dummy_hash
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH + 1]
    normalized = normalize_password(password)
    if not password_hash:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_hex(16))
        check_password_hash(_dummy_hash, normalized)
        if normalized != password:  # as many hashes as for a real user (see below)
            check_password_hash(_dummy_hash, password)
        return False
    if check_password_hash(password_hash, normalized):
        return True
    # A hash made before passwords were normalised holds the password as it was typed.
    return normalized != password and check_password_hash(password_hash, password)


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords (lower case)."""
    text = files("survey_app").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def _is_common(lowered: str) -> bool:
    """Whether a password is listed as typed, without digits and symbols around it, or de-leeted."""
    readings = {lowered, lowered.translate(_LEET)}
    readings |= {_AFFIXES.match(reading).group(1) for reading in readings}
    return not readings.isdisjoint(common_passwords())


def _is_pattern(lowered: str) -> bool:
    """Whether a password is a keyboard walk, a run of letters or digits, or a repeated chunk."""
    if any(lowered in sequence or lowered in sequence[::-1] for sequence in _SEQUENCES):
        return True
    # "passwordpassword", "sakura-sakura": the letters are found again inside themselves, shifted.
    letters = re.sub(r"[\W_]", "", lowered)
    return bool(letters) and (letters + letters).find(letters, 1) < len(letters)


def check_password_policy(password: str, username: str = "") -> None:
    """Raise PasswordPolicyError if a new password breaks a rule (checked in its NFKC form).

    The minimum length is checked last, so that "password12" is told it is a common password,
    not merely that it is short (password1234 would be refused too).
    """
    password = normalize_password(password)
    lowered = password.casefold()
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password must be at most {MAX_PASSWORD_LENGTH} characters long",
            f"パスワードは{MAX_PASSWORD_LENGTH}文字以内にしてください。")
    if password.strip() != password or not password.strip():
        raise PasswordPolicyError(
            "the password must not start or end with spaces",
            "パスワードの最初と最後に空白は使えません。")
    if username and normalize_password(username).casefold() in lowered:
        raise PasswordPolicyError(
            "the password must not contain the username",
            "パスワードにユーザー名を含めないでください。")
    if len(set(password)) < 4:
        raise PasswordPolicyError(
            "the password is too simple (use at least 4 different characters)",
            "パスワードが単純すぎます。4種類以上の文字を使ってください。")
    if _is_pattern(lowered):
        raise PasswordPolicyError(
            "the password is a keyboard pattern, a run of letters or digits, or a repetition",
            "キーボードの並び（qwerty など）や連続した文字（abcd、1234 など）、"
            "同じ文字列の繰り返しだけのパスワードは、推測されやすいため使えません。")
    if _is_common(lowered):
        raise PasswordPolicyError(
            "the password is too common (a well-known password, perhaps with digits or symbols added)",
            "よく使われているパスワード（数字や記号を付け足しただけのものを含む）は、"
            "推測されやすいため使えません。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters long",
            f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
