"""Detect answers that say nothing: 特になし, なし, ー, 。, "n/a", blank...

A comment is "no comment" when, once normalised and stripped of punctuation,
symbols and emoji, it is empty, a Latin "none"-like word, or made only of
words that express absence or having nothing to add (特に, ない, ありません,
思いつきません, わからない, 大丈夫...) plus function words. Matching on
UniDic lemmas rather than strings lets unseen spellings and politeness levels
(とくに無いです, 特にございません, 今のところ何もないです) through, while any
content word (駐輪場が少ない, スタッフ足りてない) keeps a comment.
"""

import functools
import re
import unicodedata

from .text import normalize
from .tokenizer import get_tagger

__all__ = ["is_no_comment", "is_no_comment_normalized", "NO_CONTENT_LEMMAS"]

# Longer answers always say something; skips the tagger for most comments.
MAX_NO_COMMENT_LENGTH = 30

LATIN_NO_COMMENT = frozenset(
    ["", "na", "n/a", "none", "no", "nothing", "nil", "null", "nashi", "nasi", "tokuninashi", "x", "xx"]
)

# UniDic lemmas that, alone or together, say "nothing to add".
NO_CONTENT_LEMMAS = frozenset(
    [
        "特に", "特には", "別に", "別段", "何", "何も", "何とも", "此れ", "其れ", "是", "其の",
        "無い", "無し", "有る", "御座る", "居る", "為る", "成る", "今", "所", "現在", "現時点",
        "今回", "今後", "以上", "全く", "まだ", "未だ", "良く", "余り", "分かる", "知る",
        "思い付く", "思い当たる", "思い浮かぶ", "思う", "浮かぶ", "大丈夫", "問題", "意見",
        "要望", "感想", "希望", "記入", "回答", "無回答", "不明", "其の他", "他", "別",
        "言う", "点", "事", "様", "ノー", "コメント", "ナシ",
        # "nothing worth writing": 無, 特記事項なし, 記載なし, 特に申し上げることはありません
        "無", "特記", "事項", "記載", "特筆", "申し上げる", "申す", "書く", "伝える",
        # thanks and contentment that name nothing: ありがとうございました, お世話になりました,
        # 満足です, よかったです, 今のところ不満はないです, すみません
        "有り難う", "有り難い", "御", "世話", "感謝", "満足", "不満", "良い", "現状", "何時", "本当",
        "色々", "済む",
        # よろしくお願いします
        "宜しく", "宜しい", "願い", "願う", "致す",
    ]
)
# "Nothing to add" in the other languages visitors write in (after lower-casing, without marks).
FOREIGN_NO_COMMENT = frozenset(
    [
        "nothinginparticular", "nothingspecial", "nocomment", "nocomments", "nothingtoadd", "notreally",
        "nope", "thankyou", "thanks", "allgood", "fine", "ok",
        "没有", "无", "沒有", "没有意见", "没什么", "没有了", "谢谢", "無意見",
        "khôngcó", "không", "khôngcógì", "cảmơn",
        "nada", "nadaadeclarar", "nadaadizer", "semcomentários", "semcomentarios", "nenhum", "obrigado", "obrigada",
        "ninguno", "nadaquedecir", "gracias", "wala", "walapo", "salamat",
        "없음", "없습니다", "특별히없음", "감사합니다",
    ]
)
# Only particles, auxiliaries and symbols may accompany the words above.
_FUNCTION_POS = frozenset(["助詞", "助動詞", "補助記号", "記号", "空白", "接尾辞", "接頭辞", "感動詞"])
_KATAKANA_ONLY = re.compile(r"[\u30a1-\u30f6]+")
_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


class _MarkTable(dict):
    """``str.translate`` table deleting marks; each character is classified once."""

    def __missing__(self, code):
        ch = chr(code)
        value = self[code] = None if unicodedata.category(ch)[0] in "PSZC" or ch in "ーｰ〜~" else code
        return value


_MARKS = _MarkTable()


def _strip_marks(text):
    """Drop punctuation, symbols, emoji, spaces and long-vowel marks."""
    return text.translate(_MARKS)


@functools.lru_cache(maxsize=65536)
def is_no_comment_normalized(text):
    """:func:`is_no_comment` of a text :func:`analysis.text.normalize` already returned."""
    core = _strip_marks(text).lower()
    if core in FOREIGN_NO_COMMENT:
        return True
    if core.isascii():
        return core in LATIN_NO_COMMENT or not core.strip("w")
    if len(core) > MAX_NO_COMMENT_LENGTH:
        return False
    if _KATAKANA_ONLY.fullmatch(core):  # トクニナシ reads as 得に梨: read it as hiragana
        core = core.translate(_KATAKANA_TO_HIRAGANA)
    for node in get_tagger()(core):
        fields = node.feature_raw.split(",")
        if fields[0] in _FUNCTION_POS:
            continue
        lemma = fields[7] if len(fields) > 10 else node.surface
        if lemma not in NO_CONTENT_LEMMAS and node.surface not in NO_CONTENT_LEMMAS:
            return False
    return True


def is_no_comment(text):
    """Return True when a comment carries no content.

    Parameters
    ----------
    text : str or None
        A raw comment; ``None`` and NaN count as blank.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_no_comment("とくにありません😊"), is_no_comment("駐輪場が少ない")
    (True, False)
    """
    return is_no_comment_normalized(normalize(text))
