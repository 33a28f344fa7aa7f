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
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from .nocomment import is_no_comment
from .text import normalize
from .tokenizer import DATA_DIR, JapaneseTokenizer

__all__ = ["ThemeCatalog", "SeedWordCounter", "DEFAULT_CATALOG_PATH", "FORMAT"]

FORMAT = 1
DEFAULT_CATALOG_PATH = DATA_DIR / "default_catalog.json"
# Below this probability for its best theme a comment is left "unassigned",
# so that discovery can surface themes the catalog does not know yet.
DEFAULT_THRESHOLD = 0.30
NO_COMMENT_CODE = "T00"


class SeedWordCounter(TransformerMixin, BaseEstimator):
    """Count, per theme, how many of its seed words occur in each comment.

    Parameters
    ----------
    seed_words : dict of str to list of str
        Theme code -> seed words (matched as substrings of the normalised text).
    weight : float, default=0.5
        Scale of the counts relative to the TF-IDF blocks.
    """

    def __init__(self, seed_words=None, weight=0.5):
        self.seed_words = seed_words
        self.weight = weight

    def fit(self, X, y=None):
        """Remember the theme order.

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        self
        """
        self.codes_ = sorted(self.seed_words or {})
        # One alternation per theme: a single regex scan instead of a loop over words.
        self.patterns_ = [
            re.compile("|".join(sorted({re.escape(normalize(w).lower()) for w in self.seed_words[c]}, key=len, reverse=True)))
            for c in self.codes_
            if self.seed_words[c]
        ]
        return self

    def transform(self, X):
        """Return an array of shape (n_comments, n_themes) of weighted counts.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        ndarray
        """
        rows = []
        for text in X:
            text = normalize(text).lower()  # noqa: PLW2901 - same text, canonical form
            rows.append([len(pattern.findall(text)) for pattern in self.patterns_])
        return np.asarray(rows, dtype=float).reshape(len(rows), len(self.patterns_)) * self.weight


def _build_classifier(seed_words, random_state=0):
    features = make_union(
        TfidfVectorizer(analyzer=JapaneseTokenizer(), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
        SeedWordCounter(seed_words),
    )
    return make_pipeline(features, LogisticRegression(C=1.0, max_iter=3000, random_state=random_state))


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
        self.classifier_ = _build_classifier(seed_words).fit(texts, labels)

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
        best_code, best_score = {}, {}
        if distinct:
            proba = self.classifier_.predict_proba(distinct)
            classes = self.classifier_.classes_
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
