"""A versioned catalog of named themes and the classifier that applies it.

The JSON file is the source of truth: codes, Japanese names, descriptions,
seed words and labelled example comments. The classifier is never stored; it
is retrained from the examples and seed words whenever a catalog is built or
loaded (a few hundred comments: well under a second, deterministic).
"""

import datetime
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from .nocomment import is_no_comment
from .text import normalize
from .tokenizer import DATA_DIR, JapaneseTokenizer

__all__ = ["ThemeCatalog", "SeedWordCounter", "AnalysedComment", "analyze_comments", "DEFAULT_CATALOG_PATH", "FORMAT"]

FORMAT = 1
DEFAULT_CATALOG_PATH = DATA_DIR / "default_catalog.json"
# Below this probability for its best theme a comment is left "unassigned",
# so that discovery can surface themes the catalog does not know yet.
DEFAULT_THRESHOLD = 0.30
NO_COMMENT_CODE = "T00"


def _seed_patterns(words, reading_of):
    """One alternation over the written forms and one over the kana readings."""
    written = {re.escape(normalize(w).lower()) for w in words if normalize(w)}
    kana = {re.escape(reading_of(normalize(w))) for w in words if normalize(w)}
    kana.discard("")
    compile_ = lambda alternatives: re.compile("|".join(sorted(alternatives, key=len, reverse=True)))  # noqa: E731
    return compile_(written), compile_(kana) if kana else None


class SeedWordCounter(TransformerMixin, BaseEstimator):
    """Count, per theme, how many of its seed words occur in each comment.

    Seed words are matched twice: as substrings of the normalised text and,
    through their kana reading, of the comment's reading, so that
    ちゅうしゃじょう finds 駐車場 and さいよう finds 採用.

    Parameters
    ----------
    seed_words : dict of str to list of str
        Theme code -> seed words.
    weight : float, default=1.0
        Scale of the (log1p) counts relative to the TF-IDF blocks.
    tokenizer : JapaneseTokenizer, optional
        Reads the seed words; default ``JapaneseTokenizer()``.

    Notes
    -----
    ``transform`` takes analysed comments (see :func:`analyze_comments`).
    Themes without seed words contribute no column; with none at all the
    output has zero columns.
    """

    def __init__(self, seed_words=None, weight=1.0, tokenizer=None):
        self.seed_words = seed_words
        self.weight = weight
        self.tokenizer = tokenizer

    def fit(self, X=None, y=None):
        """Compile the seed words of each theme.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self
        """
        tokenizer = self.tokenizer if self.tokenizer is not None else JapaneseTokenizer()
        seed_words = self.seed_words or {}
        self.codes_ = [code for code in sorted(seed_words) if any(normalize(w) for w in seed_words[code])]

        def reading_of(text):
            return tokenizer._tokenize_normalized(text, tokenizer._resources(), tokenizer._get_tagger())[2]

        self.patterns_ = [_seed_patterns(seed_words[code], reading_of) for code in self.codes_]
        return self

    def transform(self, X):
        """Return an array of shape (n_comments, 2 * n_themes_with_seeds).

        Parameters
        ----------
        X : list of AnalysedComment

        Returns
        -------
        ndarray
        """
        X = list(X)
        counts = np.zeros((len(X), 2 * len(self.patterns_)), dtype=float)
        for row, comment in enumerate(X):
            text = comment.text.lower()
            for col, (written, kana) in enumerate(self.patterns_):
                counts[row, 2 * col] = len(written.findall(text))
                if kana is not None:
                    counts[row, 2 * col + 1] = len(kana.findall(comment.reading))
        return np.log1p(counts) * self.weight


class AnalysedComment(tuple):
    """A normalised comment with its tokens and kana reading (a light named tuple)."""

    __slots__ = ()

    def __new__(cls, text, tokens, reading):
        return super().__new__(cls, (text, tuple(tokens), reading))

    def __getnewargs__(self):
        return tuple(self)

    text = property(lambda self: self[0])
    tokens = property(lambda self: self[1])
    reading = property(lambda self: self[2])


def analyze_comments(texts, tokenizer=None):
    """Tokenize distinct normalised texts once for every feature view.

    Parameters
    ----------
    texts : list of str
        Normalised texts.
    tokenizer : JapaneseTokenizer, optional

    Returns
    -------
    list of AnalysedComment
    """
    tokenizer = tokenizer if tokenizer is not None else JapaneseTokenizer()
    texts = list(texts)
    unique = list(dict.fromkeys(texts))
    analysed = dict(zip(unique, tokenizer.analyze(unique)))
    return [AnalysedComment(text, *analysed[text]) for text in texts]


def _words_and_pairs(comment):
    tokens = comment.tokens
    return list(tokens) + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


def _text(comment):
    return comment.text


def _reading(comment):
    return comment.reading


class _Select(TransformerMixin, BaseEstimator):
    """Feed one field of analysed comments to a vectorizer."""

    def __init__(self, field=None, vectorizer=None):
        self.field = field
        self.vectorizer = vectorizer

    def fit(self, X, y=None):
        self.vectorizer_ = clone(self.vectorizer).fit(self._get(X))
        return self

    def transform(self, X):
        return self.vectorizer_.transform(self._get(X))

    def _get(self, X):
        if self.field == "comment":
            return list(X)
        return [getattr(comment, self.field) for comment in X]


def _build_classifier(seed_words, tokenizer, random_state=0):
    """Feature views chosen under 5-fold CV on the dev comments (benchmarks/bench_themes.py).

    Lemma unigrams and bigrams (synonyms merged), character 1-3-grams of the
    text, and seed-word counts on the text and on the kana reading
    (hiragana-only comments meet kanji seed words there).
    """
    options = dict(sublinear_tf=True, dtype=np.float32)
    features = make_union(
        _Select("comment", TfidfVectorizer(analyzer=_words_and_pairs, **options)),
        _Select("text", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), **options)),
        # _Select("reading", ...) char 2-4-grams of the reading: +0.01 CV for +3 s on 100k comments
        SeedWordCounter(seed_words, tokenizer=tokenizer),
    )
    return make_pipeline(features, LogisticRegression(C=3.0, max_iter=5000, random_state=random_state))


class ThemeCatalog:
    """Named themes (codes ``T01``...) and a classifier trained on their examples.

    Parameters
    ----------
    themes : list of dict
        Each with ``code``, ``name``, ``description``, ``seed_words`` and
        ``examples`` (labelled comments).
    version : str, optional
        Free-form version string; defaults to today's date.
    created_at : str, optional
        ISO timestamp; defaults to now (UTC).
    threshold : float, default=0.30
        Minimum probability of the best theme for a comment to be assigned.
    """

    def __init__(self, themes, version=None, created_at=None, threshold=DEFAULT_THRESHOLD):
        self.themes = [dict(t) for t in themes]
        now = datetime.datetime.now(datetime.timezone.utc)
        self.version = version or now.strftime("%Y.%m.%d")
        self.created_at = created_at or now.isoformat(timespec="seconds")
        self.threshold = threshold
        self._fit_classifier()

    @property
    def codes(self):
        """list of str: theme codes in catalog order."""
        return [t["code"] for t in self.themes]

    @property
    def names(self):
        """dict: theme code -> Japanese name."""
        return {t["code"]: t["name"] for t in self.themes}

    def _fit_classifier(self):
        texts, labels = [], []
        for theme in self.themes:
            for example in theme.get("examples", []):
                texts.append(normalize(example))
                labels.append(theme["code"])
            # Seed words double as tiny examples so that a theme with few examples still has a voice.
            for word in theme.get("seed_words", []):
                texts.append(normalize(word))
                labels.append(theme["code"])
        if len(set(labels)) < 2:
            raise ValueError("a catalog needs examples for at least two themes")
        seed_words = {t["code"]: list(t.get("seed_words", [])) for t in self.themes}
        self.tokenizer_ = JapaneseTokenizer()
        self.classifier_ = _build_classifier(seed_words, self.tokenizer_).fit(
            analyze_comments(texts, self.tokenizer_), labels
        )

    # -- construction --

    @classmethod
    def train(cls, data, labels=None, names=None, descriptions=None, seed_words=None, **kwargs):
        """Build a catalog from labelled comments.

        Parameters
        ----------
        data : pandas.DataFrame or iterable of str
            A frame with ``comment`` and ``theme`` columns, or comments with
            ``labels`` given separately. Rows labelled ``T00`` (no comment)
            and no-comment answers are skipped.
        labels : iterable of str, optional
            Theme code of each comment when ``data`` is not a DataFrame.
        names, descriptions : dict of str to str, optional
            Japanese name and description per code (the code is the default name).
        seed_words : dict of str to list of str, optional
        **kwargs
            Passed to :class:`ThemeCatalog` (``version``, ``threshold``...).

        Returns
        -------
        ThemeCatalog
        """
        if isinstance(data, pd.DataFrame):
            texts, labels = list(data["comment"]), list(data["theme"])
        else:
            texts, labels = list(data), list(labels)
        names, descriptions, seed_words = names or {}, descriptions or {}, seed_words or {}
        examples = {}
        for text, code in zip(texts, labels):
            if code == NO_COMMENT_CODE or is_no_comment(text):
                continue
            examples.setdefault(code, []).append(str(text))
        themes = [
            {
                "code": code,
                "name": names.get(code, code),
                "description": descriptions.get(code, ""),
                "seed_words": list(seed_words.get(code, [])),
                "examples": examples[code],
            }
            for code in sorted(examples)
        ]
        return cls(themes, **kwargs)

    def to_dict(self):
        """Return the catalog as a JSON-ready dict (format 1).

        Returns
        -------
        dict
        """
        return {
            "format": FORMAT,
            "version": self.version,
            "created_at": self.created_at,
            "threshold": self.threshold,
            "themes": self.themes,
        }

    @classmethod
    def from_dict(cls, data):
        """Build a catalog from :meth:`to_dict` output, retraining its classifier.

        Parameters
        ----------
        data : dict

        Returns
        -------
        ThemeCatalog
        """
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported catalog format {data.get('format')!r}")
        return cls(
            data["themes"],
            version=data.get("version"),
            created_at=data.get("created_at"),
            threshold=data.get("threshold", DEFAULT_THRESHOLD),
        )

    def save(self, path):
        """Write the catalog as UTF-8 JSON.

        Parameters
        ----------
        path : str or os.PathLike
        """
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path=DEFAULT_CATALOG_PATH):
        """Read a catalog JSON file (default: the shipped catalog).

        Parameters
        ----------
        path : str or os.PathLike, optional

        Returns
        -------
        ThemeCatalog
        """
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    # -- use --

    def assign(self, texts):
        """Assign comments to catalog themes.

        Parameters
        ----------
        texts : iterable of str

        Returns
        -------
        pandas.DataFrame
            One row per comment: ``code`` (None when no theme is probable
            enough or the answer is a no-comment), ``name``, ``score`` (the
            best theme's probability, NaN for no-comment), ``no_comment``.
        """
        texts = list(texts)
        normalized = [normalize(t) for t in texts]
        # Identical answers are classified once (surveys repeat a lot).
        distinct = list(dict.fromkeys(t for t in normalized if not is_no_comment(t)))
        return self._assign_normalized(normalized, analyze_comments(distinct, self.tokenizer_))

    def predict_proba(self, analysed):
        """Theme probabilities of analysed comments (columns in ``classes_`` order).

        Parameters
        ----------
        analysed : list of AnalysedComment

        Returns
        -------
        ndarray of shape (n_comments, n_themes)
        """
        return self.classifier_.predict_proba(list(analysed))

    @property
    def classes_(self):
        """ndarray: theme codes of the probability columns."""
        return self.classifier_.classes_

    def _assign_normalized(self, normalized, analysed):
        """:meth:`assign` on normalised texts given the analysed distinct contents."""
        best_code, best_score = {}, {}
        if analysed:
            distinct = [comment.text for comment in analysed]
            proba = self.predict_proba(analysed)
            classes = self.classes_
            best_code = dict(zip(distinct, classes[proba.argmax(axis=1)]))
            best_score = dict(zip(distinct, proba.max(axis=1)))
        no_comment = np.array([t not in best_score for t in normalized], dtype=bool)
        scores = np.array([best_score.get(t, np.nan) for t in normalized], dtype=float)
        codes = np.array(
            [best_code[t] if t in best_code and best_score[t] >= self.threshold else None for t in normalized],
            dtype=object,
        )
        names = self.names
        return pd.DataFrame(
            {
                # object dtype keeps None (pandas 3 would infer a string column with NaN)
                "code": pd.Series(codes, dtype=object),
                "name": pd.Series([names.get(c) if c is not None else None for c in codes], dtype=object),
                "score": scores,
                "no_comment": no_comment,
            }
        )
