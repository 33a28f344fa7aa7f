"""Normalise free-text survey comments before any other processing."""

import re
import unicodedata

__all__ = ["normalize"]

# Control and format characters (category C*) other than whitespace carry no
# meaning in a comment; tabs and newlines are folded into spaces below.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_WHITESPACE = re.compile(r"\s+")
# A run of the same mark says no more than one mark: ーーー, !!!, 。。。, ・・・, ~~~.
_REPEATED_MARK = re.compile(r"([ー~〜!?。、.,・…\-_=*☆★♪*])\1+")
_MARKS = frozenset("ー~〜!?。、.,・…-_=*☆★♪*")
# Japanese internet laughter "www" -> "w"; not inside Latin words or URLs.
_LAUGHTER = re.compile(r"(?<![A-Za-z0-9./@])[wW]{2,}(?![A-Za-z0-9./@])")


def normalize(text):
    """Return a canonical form of a comment.

    Applies Unicode NFKC (full-width Latin and digits become half-width,
    half-width katakana becomes full-width), removes control characters,
    collapses whitespace and runs of repeated marks.

    Parameters
    ----------
    text : str or None
        A raw comment. ``None`` and float NaN (pandas' missing value) are
        treated as empty.

    Returns
    -------
    str
        The normalised comment, stripped; ``""`` for missing input.

    Examples
    --------
    >>> normalize("ＰＣが　少なすぎ！！！")
    'PCが 少なすぎ!'
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    # Cheap checks first: most comments need only some of the passes.
    if not text.isprintable():  # control characters and whitespace other than " "
        text = _CONTROL.sub("", text)
        text = _WHITESPACE.sub(" ", text)
    elif "  " in text:
        text = _WHITESPACE.sub(" ", text)
    text = text.strip()
    if not _MARKS.isdisjoint(text):
        text = _REPEATED_MARK.sub(r"\1", text)
    if "w" in text or "W" in text:
        text = _LAUGHTER.sub("w", text)
    return text
