"""Mask personal data in free comments before anyone reads them on a page or in an export.

Only the displayed copy is changed; the stored comment stays as the respondent wrote it.
Masked: e-mail addresses, postal codes, telephone numbers, long digit runs (My Number, card
and account numbers) and people's names written with an honorific (佐藤さん, 鈴木様, 田中氏,
健太君, ゆいちゃん) or right after 担当の/担当は/担当が when UniDic reads the word there as a
person's name (担当の高橋が…, but not 担当が毎回変わる or 担当の方が親切). Words that take an
honorific but name nobody (皆さん, 職員さん, お客様, 利用者様 …) are kept.

The patterns match the NFKC form of the comment, so half-width katakana (ﾀﾅｶさん) and
full-width digits and letters (０９０－１２３４－５６７８) are caught like their usual forms; each
mask replaces the original characters of the matched span, and every other character is shown
as the respondent typed it.

Comment search matches `masked_for_search` (the NFKC form of the masked text), never the
stored comment, so a search cannot find what the masks hide.

Used by the web reports, the exports and the notebooks; imports neither Flask nor
scikit-learn (fugashi is loaded only when a comment mentions 担当).
"""
import re
import threading
import unicodedata

NAME_MASK = "〇〇"
EMAIL_MASK = "［メールアドレス］"
POSTAL_MASK = "〒［郵便番号］"
PHONE_MASK = "［電話番号］"
NUMBER_MASK = "［番号］"

_DIGIT = "[0-9０-９]"
_NOT_DIGIT_BEFORE = "(?<![0-9０-９])"
_NOT_DIGIT_AFTER = "(?![0-9０-９])"
# Hyphens people type between digits, including the katakana long-vowel mark and minus signs.
_DASH = "[-‐‑‒–—―ー－−﹣]"
_SEPARATOR = rf"(?:\s?{_DASH}\s?|\s|[.．])"

_EMAIL = re.compile(
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-－]+\s?[@＠]\s?[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]+"
    r"(?:\s?[.．]\s?[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]+)+"
)
_POSTAL_MARKED = re.compile(rf"〒\s?{_DIGIT}{{3}}\s?(?:{_DASH}\s?)?{_DIGIT}{{4}}{_NOT_DIGIT_AFTER}")
_POSTAL_BARE = re.compile(rf"{_NOT_DIGIT_BEFORE}(?<!{_DASH}){_DIGIT}{{3}}{_DASH}{_DIGIT}{{4}}"
                          rf"{_NOT_DIGIT_AFTER}(?!{_DASH})")
# 090-1234-5678, 03(1234)5678, 0120 123 456, +81 90 1234 5678, 0312345678.
_PHONE = re.compile(
    rf"{_NOT_DIGIT_BEFORE}(?:[+＋]\s?[8８][1１]\s?(?:{_DASH}\s?)?|[(（]\s?)?[0０]?{_DIGIT}{{1,4}}"
    rf"(?:\s?[()（）]\s?|{_SEPARATOR})?{_DIGIT}{{1,4}}"
    rf"(?:\s?[()（）]\s?|{_SEPARATOR})?{_DIGIT}{{3,4}}{_NOT_DIGIT_AFTER}"
)
_LONG_DIGITS = re.compile(
    rf"{_NOT_DIGIT_BEFORE}(?:{_DIGIT}{{8,}}|{_DIGIT}{{4}}(?:{_SEPARATOR}{_DIGIT}{{4}}){{2,}})"
    rf"{_NOT_DIGIT_AFTER}"
)

_KANJI = r"[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF々〆ヶ]"
_KATAKANA = r"[\u30A1-\u30FAー・]"
_HIRAGANA = r"[\u3041-\u3096]"
_LATIN = r"[A-Za-zＡ-Ｚａ-ｚ]"
_HONORIFIC = r"(?:さん|さま|様(?![々子式相態])|氏(?!名)|君|くん|ちゃん|先生)"
# A name: kanji (surname, optionally a space and a given name), katakana or Latin letters.
_NAME = (rf"(?:{_KANJI}{{1,5}}(?:[ 　]{_KANJI}{{1,4}})?"
         rf"|{_KATAKANA}{{2,12}}(?:[ 　]{_KATAKANA}{{2,12}})?"
         rf"|{_LATIN}{{2,20}}(?:[ 　]{_LATIN}{{2,20}})?)")
_NAME_WITH_HONORIFIC = re.compile(rf"(?P<name>{_NAME})(?P<honorific>{_HONORIFIC})")
# Children and friends are often written in hiragana with ちゃん/くん: ゆいちゃん, たろうくん.
_HIRAGANA_NICKNAME = re.compile(rf"(?<!{_HIRAGANA})(?P<name>{_HIRAGANA}{{2,5}})(?P<honorific>ちゃん|くん)")
# 担当の佐藤が… / 担当は鈴木で… / 担当者の田中 — a name right after the word for "in charge".
_AFTER_IN_CHARGE = re.compile(
    rf"(?P<lead>担当(?:者|職員|相談員)?(?:の方)?(?:の|は|が|：|:)\s?)"
    rf"(?P<name>{_KANJI}{{2,5}}(?:[ 　]{_KANJI}{{1,4}})?|{_KATAKANA}{{2,12}})"
    rf"(?=[^\u3400-\u4DBF\u4E00-\u9FFF\u30A1-\u30FA]|$)"
)

# Words that take an honorific but are not anyone's name. Kept small and explicit.
ALLOWED_WORDS = frozenset({
    "皆", "皆様", "みな", "みんな", "職員", "相談員", "支援員", "客", "お客", "利用者", "来所者",
    "担当", "担当者", "係", "係員", "窓口", "受付", "先生", "子", "お子", "息子", "娘", "母", "父",
    "お母", "お父", "奥", "赤", "親御", "家族", "ご家族", "相手", "神", "仏", "市", "県", "区",
    "市役所", "役所", "区役所", "県庁", "ハローワーク", "ナビゲーター", "カウンセラー",
    "スタッフ", "ケースワーカー", "コンサルタント", "アドバイザー", "医者", "看護師",
    "弁護士", "社長", "上司", "同僚", "先輩", "後輩", "大家", "隣", "近所", "他", "貴",
    "あか", "おじい", "おばあ", "おにい", "おねえ", "にい", "ねえ", "ばあ", "じい",
    "パート", "アルバイト", "バイト", "ガードマン", "ママ", "パパ", "ボランティア",
    # 様 and 氏 inside ordinary words: 同様, 多様, 仕様, 模様, 神様.
    "同", "多", "仕", "模", "異", "一", "各", "王", "殿", "有",
})
# Words that follow 担当の but are not names: 担当の部署, 担当の変更.
_IN_CHARGE_WORDS = frozenset({
    "部署", "業務", "仕事", "内容", "変更", "交代", "分野", "範囲", "窓口", "職員", "相談員",
    "支援員", "先生", "時間", "曜日", "日時", "制度", "方々", "人達", "者同士",
})
# A kanji word ending like this names a role, not a person: 相談員さん, 看護師さん, 所長さん.
_ROLE_SUFFIXES = ("員", "者", "師", "士", "官", "長", "係", "様", "方", "達", "たち", "会", "課", "所")
# Words that can stand just before a name in one kanji run: 担当佐藤さん, 窓口田中さん.
_LEADING_WORDS = ("担当者", "担当", "相談員", "支援員", "職員", "窓口", "受付", "係員", "係")


def _is_allowed(word: str) -> bool:
    bare = word.replace(" ", "").replace("　", "")
    if bare in ALLOWED_WORDS or bare.lstrip("おご御") in ALLOWED_WORDS:
        return True
    return bare.endswith(_ROLE_SUFFIXES) and not re.fullmatch(_KATAKANA + "+", bare)


def _mask_honorific(match: re.Match) -> str:
    name, honorific = match.group("name"), match.group("honorific")
    for leading in _LEADING_WORDS:
        if name.startswith(leading) and len(name) > len(leading):
            rest = name[len(leading):].lstrip(" 　")
            if _is_allowed(rest):
                return match.group(0)
            return leading + name[len(leading):len(name) - len(rest)] + NAME_MASK + honorific
    if _is_allowed(name):
        return match.group(0)
    return NAME_MASK + honorific


def _mask_hiragana_nickname(match: re.Match) -> str:
    if _is_allowed(match.group("name")) or match.group("name").startswith(("お", "ご")):
        return match.group(0)
    return NAME_MASK + match.group("honorific")


_local = threading.local()


def _tagger():
    """A fugashi tagger for this thread (MeCab taggers are not thread-safe)."""
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        import fugashi

        tagger = _local.tagger = fugashi.Tagger()
    return tagger


def _reads_as_person_name(name: str, following: str) -> bool:
    """True when UniDic reads the start of `name` (in its context) as a person's name."""
    for node in _tagger()(name + following[:10]):
        fields = node.feature_raw.split(",")
        # 名詞,固有名詞,人名,... for 高橋, 中村, マイケル; 普通名詞 for 毎回, 親切, 方.
        return len(fields) > 2 and fields[1] == "固有名詞" and fields[2] == "人名"
    return False


def _mask_after_in_charge(match: re.Match) -> str:
    name = match.group("name")
    if name in _IN_CHARGE_WORDS or _is_allowed(name):
        return match.group(0)
    if not _reads_as_person_name(name, match.string[match.end():]):
        return match.group(0)
    return match.group("lead") + NAME_MASK


def _mask_phone(match: re.Match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    text = match.group(0)
    international = text.lstrip("(（ ").startswith(("+", "＋"))
    starts_with_zero = text.lstrip("(（ ")[:1] in ("0", "０")
    if (international and 10 <= digits <= 12) or (starts_with_zero and 10 <= digits <= 11):
        return PHONE_MASK
    return text


# In order: each step sees the masks of the steps before it.
_STEPS = (
    (_EMAIL, EMAIL_MASK),
    (_POSTAL_MARKED, POSTAL_MASK),
    (_PHONE, _mask_phone),
    (_POSTAL_BARE, POSTAL_MASK.removeprefix("〒")),
    (_LONG_DIGITS, NUMBER_MASK),
    (_NAME_WITH_HONORIFIC, _mask_honorific),
    (_HIRAGANA_NICKNAME, _mask_hiragana_nickname),
    (_AFTER_IN_CHARGE, _mask_after_in_charge),
)


def _units(text: str) -> list[list[str]]:
    """One [original, normalised] pair per character of the NFKC form of `text`.

    A character and the combining marks after it (ｶﾞ) are normalised together; a character
    that normalises to several (㈱ → (株)) gives its original to the first and "" to the rest.
    """
    pieces: list[list[str]] = []
    for char in text:
        normalised = unicodedata.normalize("NFKC", char)
        if pieces and unicodedata.combining(normalised[0]):
            original = pieces[-1][0] + char
            pieces[-1] = [original, unicodedata.normalize("NFKC", original)]
        else:
            pieces.append([char, normalised])
    units = []
    for original, normalised in pieces:
        units.append([original, normalised[0]])
        units.extend(["", char] for char in normalised[1:])
    return units


def _substitute(units: list[list[str]], pattern: re.Pattern, replacement) -> list[list[str]]:
    """`pattern.sub(replacement, …)` on the normalised text, replacing original characters."""
    text = "".join(normalised for _, normalised in units)
    spans = []
    for match in pattern.finditer(text):
        old = match.group(0)
        new = replacement(match) if callable(replacement) else replacement
        if new == old:
            continue
        # Only the part the replacement changes is replaced (担当の|佐藤|さん keeps 担当の, さん).
        limit = min(len(old), len(new))
        head = 0
        while head < limit and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        spans.append((match.start() + head, match.end() - tail, new[head:len(new) - tail]))
    if not spans:
        return units
    units = [unit[:] for unit in units]
    for start, end, _ in spans:
        # A character the span cuts (㈱ → (株)) shows in its normalised form: its original
        # would show the masked part too.
        if start < len(units) and units[start][0] == "":
            i = start - 1
            while i >= 0 and units[i][0] == "":
                units[i][0] = units[i][1]
                i -= 1
            if i >= 0:
                units[i][0] = units[i][1]
        i = end
        while i < len(units) and units[i][0] == "":
            units[i][0] = units[i][1]
            i += 1
    result, done = [], 0
    for start, end, middle in spans:
        result.extend(units[done:start])
        result.extend([char, char] for char in middle)
        done = end
    result.extend(units[done:])
    return result


def mask_personal_data(text: str | None) -> str:
    """Return `text` with e-mail addresses, numbers and people's names replaced by marks.

    Patterns match the NFKC form; characters outside the masks stay as written.

    Examples
    --------
    >>> mask_personal_data("担当の佐藤さんに 090-1234-5678 へ電話をもらった")
    '担当の〇〇さんに ［電話番号］ へ電話をもらった'
    >>> mask_personal_data("ﾀﾅｶさんに０９０－１２３４－５６７８で（ＯＫ）")
    '〇〇さんに［電話番号］で（ＯＫ）'
    """
    if not text:
        return ""
    if unicodedata.is_normalized("NFKC", text):
        for pattern, replacement in _STEPS:
            text = pattern.sub(replacement, text)
        return text
    units = _units(text)
    for pattern, replacement in _STEPS:
        units = _substitute(units, pattern, replacement)
    return "".join(original for original, _ in units)


def search_form(text: str) -> str:
    """The form comment search compares: NFKC (ＰＣ and PC, ｶﾅ and カナ match alike)."""
    return unicodedata.normalize("NFKC", text)


def masked_for_search(text: str | None) -> str | None:
    """What comment search may match of `text`: its masked form, NFKC; None for no comment.

    Stored next to the comment (`responses.comment_masked`) when an answer is written.
    """
    if not text:
        return None
    return search_form(mask_personal_data(text))


QUOTE_MAX_LENGTH = 120


def masked_span(text: str | None, start: int, end: int) -> str:
    """Return the part of a comment that carries a theme mention, masked, for quoting.

    Mention spans are offsets into ``analysis.text.normalize`` of the masked comment (the text
    the theme pipeline reads), so the comment is masked and normalised first, then cut; the cut
    is masked again so that nothing a mask covered can show. `text` may be the comment as
    written or its stored masked form (``responses.comment_masked``): both give that text.
    An empty or out-of-range span quotes the whole comment; long quotes end with "…".

    Examples
    --------
    >>> masked_span("親切でした。電話は090-1234-5678です", 6, 17)
    '電話は[電話番号]です'
    """
    from .text import normalize  # the one normalisation the pipeline's offsets refer to

    read = normalize(mask_personal_data(text))
    start, end = max(int(start), 0), min(int(end), len(read))
    quote = read[start:end] if start < end else read
    quote = mask_personal_data(quote).strip(" 、。,.")
    return quote if len(quote) <= QUOTE_MAX_LENGTH else quote[:QUOTE_MAX_LENGTH - 1] + "…"
