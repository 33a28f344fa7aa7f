"""Read the CSV files people actually send: UTF-8 (with or without BOM), Shift_JIS, EUC-JP.

Excel on Japanese Windows saves CSV as Shift_JIS (cp932); other tools write UTF-8 with or
without a byte-order mark, and a few old systems EUC-JP. :func:`read_csv_any_encoding` finds
the encoding and parses the file with every column as text, or raises :class:`InputError`
with a message fit to show the person who chose the file.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["InputError", "detect_encoding", "read_csv_any_encoding", "write_csv"]

# Tried in order after strict UTF-8; chosen by how Japanese the decoded text looks.
JAPANESE_LEGACY_ENCODINGS = ("cp932", "euc_jp")
_HALFWIDTH_KATAKANA = re.compile(r"[\uff61-\uff9f]")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]")
_PRIVATE_OR_RARE = re.compile(r"[\ue000-\uf8ff\u2460-\u24ff\u2150-\u218f]")


class InputError(ValueError):
    """A file that cannot be read as the CSV we need; the message names the file and why."""


def _plausibility(text: str) -> float:
    """Score decoded text: Japanese characters count for, half-width katakana against.

    EUC-JP bytes usually decode as cp932 too, into half-width katakana and rare symbols; a
    survey comment is overwhelmingly hiragana, kanji and full-width katakana.
    """
    good = len(_JAPANESE.findall(text))
    bad = len(_HALFWIDTH_KATAKANA.findall(text)) + 2 * len(_PRIVATE_OR_RARE.findall(text))
    return (good - 2 * bad) / max(len(text), 1)


def detect_encoding(raw: bytes) -> str:
    """Return the encoding of CSV bytes: "utf-8-sig", "utf-8", "cp932" or "euc_jp" (or another
    encoding charset-normalizer is sure of).

    Parameters
    ----------
    raw : bytes

    Returns
    -------
    str
        A Python codec name that decodes `raw` without errors.

    Raises
    ------
    InputError
        When no encoding decodes the bytes as text.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = {}
    for encoding in JAPANESE_LEGACY_ENCODINGS:
        try:
            decoded[encoding] = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    if decoded:
        return max(decoded, key=lambda enc: _plausibility(decoded[enc]))
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None and best.encoding and best.chaos < 0.2:
        try:
            raw.decode(best.encoding)
            return best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise InputError("is not text in UTF-8, Shift_JIS (cp932) or EUC-JP; save it as UTF-8 CSV")


def read_csv_any_encoding(path, required_columns: Iterable[str] = (), **read_csv_kwargs):
    """Read a CSV file whatever its Japanese encoding, every column as text.

    Parameters
    ----------
    path : str or os.PathLike
    required_columns : iterable of str, optional
        Columns that must be present.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (defaults: ``dtype=str``,
        ``keep_default_na=False``, so empty cells are "" and "NA" stays a word).

    Returns
    -------
    pandas.DataFrame
        With ``frame.attrs["encoding"]`` set to the encoding found.

    Raises
    ------
    InputError
        Missing or unreadable file, undecodable bytes, empty file, malformed CSV or missing
        columns; the message starts with the file name.
    """
    path = Path(os.fspath(path))
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a CSV file") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read ({error.strerror or error})") from None
    try:
        encoding = detect_encoding(raw)
    except InputError as error:
        raise InputError(f"{name}: {error}") from None
    text = raw.decode(encoding)
    if not text.strip():
        raise InputError(f"{name}: the file is empty")
    options = {"dtype": str, "keep_default_na": False}
    options.update(read_csv_kwargs)
    try:
        frame = pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: the file is empty") from None
    except (pd.errors.ParserError, csv.Error, ValueError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"{name}: not a valid CSV file ({detail})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in required_columns if column not in frame.columns]
    if missing:
        found = ", ".join(frame.columns) or "none"
        raise InputError(
            f"{name}: missing column(s) {', '.join(missing)} (found: {found})")
    frame.attrs["encoding"] = encoding
    return frame


def write_csv(frame, path, encoding="utf-8-sig"):
    """Write a DataFrame as CSV, UTF-8 with a byte-order mark so Excel shows Japanese.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or os.PathLike
    encoding : str, default "utf-8-sig"

    Raises
    ------
    InputError
        When the file cannot be written.
    """
    try:
        frame.to_csv(path, index=False, encoding=encoding, lineterminator="\n")
    except OSError as error:
        raise InputError(f"{path}: cannot write ({error.strerror or error})") from None
