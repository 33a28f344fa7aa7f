"""Split a normalised comment into the clauses that may each make a point.

Short survey comments join their points with sentence ends and contrastive
links: 「親切だけど駐車場が狭い」, 「PCが足りないし、待ち時間も長い」,
「丁寧でした。ただ、平日しか開いていない」. Each clause is scored on its own so
that a request that follows praise is not drowned by it. Long clauses are
also cut at their commas (``segments``): 「履歴書を作れるようになり、端末にも
慣れて、自信がつきました」 makes three points.
"""

import re

from .nocomment import is_no_comment_normalized

__all__ = ["clause_spans", "segment_spans", "content_spans"]

# A clause ends at a sentence end, after a link that turns to another point
# (けど, が、, のに, し、...), or before a word that opens one (ただ, でも, あと...).
_OPENERS = "ただ|でも|しかし|あと|一方|それと|また|なのに|だけど|ですが|ところが"
_BREAK = re.compile(
    rf"""
    [。!?！？\n]+\s*
  | (?<=[^\s、,])(?:ですが|ますが|でしたが|ましたが|だが|のに|ものの|し)[、,]\s*
  | (?<=\S)(?:けれども|けれど|けど)[、,\s]*
  | [、,…\s]+(?={_OPENERS})
    """,
    re.X,
)
_COMMA = re.compile(r"[、,]\s*")
# A comma piece shorter than this is not a point of its own (「でも、」「私は、」).
MIN_SEGMENT_LENGTH = 5


def clause_spans(text):
    """Character spans of the clauses of a normalised comment.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of (int, int)
        ``(start, end)`` offsets into ``text``, in order, covering every
        non-blank part; ``[(0, len(text))]`` for a single clause.

    Examples
    --------
    >>> t = "親切だけど駐車場が狭い"
    >>> [t[s:e] for s, e in clause_spans(t)]
    ['親切だけど', '駐車場が狭い']
    """
    spans, start = [], 0
    for match in _BREAK.finditer(text):
        if text[start:match.end()].strip():
            spans.append((start, match.end()))
            start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def segment_spans(text):
    """Clauses, and the comma pieces of clauses that have several.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of (int, int)
        Each clause, followed by its comma pieces when it has more than one;
        a comment of one short clause gives one span.
    """
    segments = []
    for clause in clause_spans(text):
        segments.append(clause)
        pieces = _comma_pieces(text, clause)
        if len(pieces) > 1:
            segments.extend(pieces)
    return segments


def _comma_pieces(text, span):
    start, end = span
    pieces, piece_start = [], start
    for match in _COMMA.finditer(text, start, end):
        if match.end() - piece_start >= MIN_SEGMENT_LENGTH:
            pieces.append((piece_start, match.end()))
            piece_start = match.end()
    if piece_start < end and text[piece_start:end].strip():
        if pieces and end - piece_start < MIN_SEGMENT_LENGTH:
            pieces[-1] = (pieces[-1][0], end)
        else:
            pieces.append((piece_start, end))
    return pieces


def content_spans(text):
    """The segments of a normalised comment that say something (「よろしくお願いします」 does not).

    Parameters
    ----------
    text : str

    Returns
    -------
    list of (int, int)
    """
    return [(start, end) for start, end in segment_spans(text) if not is_no_comment_normalized(text[start:end])]
