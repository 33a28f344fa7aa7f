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
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

from .nocomment import is_no_comment
from .parallel import fork_map_blocks
from .text import normalize
from .tokenizer import DATA_DIR, JapaneseTokenizer
from .word_vectors import WordVectorMean

__all__ = ["ThemeCatalog", "SeedWordCounter", "AnalysedComment", "analyze_comments", "DEFAULT_CATALOG_PATH", "FORMAT"]

FORMAT = 1
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


def _alternation(words):
    """One regex matching any of ``words`` (longest match first); None when there are none.

    The alternation is built as a trie (``駐(?:車場|輪場)``), so the regex engine
    tries each character once instead of every word in turn: several times
    faster on hundreds of seed words.
    """
    trie = {}
    for word in {w for w in words if w}:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True
    return re.compile(_trie_pattern(trie)) if trie else None


def _trie_pattern(node):
    end = "" in node
    branches = [re.escape(ch) + _trie_pattern(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if end:  # a word ends here: the longer words are optional
        body = "(?:" + body + ")?" if len(branches) > 1 or len(branches[0]) > 1 else body + "?"
    return body


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
    lead_weight : float, optional
        When given, one more column per theme counts the written matches in
        the comment's lead sentence alone (see :func:`lead_sentence`), where
        the main point usually is, scaled by this weight.

    Notes
    -----
    ``transform`` takes analysed comments (see :func:`analyze_comments`).
    Themes without seed words contribute no column; with none at all the
    output has zero columns.
    """

    def __init__(self, seed_words=None, weight=1.0, tokenizer=None, lead_weight=None):
        self.seed_words = seed_words
        self.weight = weight
        self.tokenizer = tokenizer
        self.lead_weight = lead_weight

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
        # Seed word (written, lower-cased) or its kana reading -> the columns it counts for.
        written_columns, kana_columns = {}, {}
        for column, code in enumerate(self.codes_):
            for word in seed_words[code]:
                word = normalize(word)
                if not word:
                    continue
                written_columns.setdefault(word.lower(), set()).add(2 * column)
                reading = tokenizer.reading(word).strip()
                if reading:
                    kana_columns.setdefault(reading, set()).add(2 * column + 1)
        self.written_columns_ = {w: sorted(c) for w, c in written_columns.items()}
        self.kana_columns_ = {w: sorted(c) for w, c in kana_columns.items()}
        self.written_pattern_ = _alternation(self.written_columns_)
        self.kana_pattern_ = _alternation(self.kana_columns_)
        return self

    def transform(self, X):
        """Return a matrix of shape (n_comments, 2 or 3 * n_themes_with_seeds).

        Parameters
        ----------
        X : list of AnalysedComment

        Returns
        -------
        scipy.sparse.csr_matrix
            Sparse like the TF-IDF blocks next to it, so that FeatureUnion
            takes scipy's fast path for stacking CSR matrices.
        """
        X = list(X)
        counts = np.zeros((len(X), 2 * len(self.codes_)), dtype=float)
        lead = self.lead_weight is not None
        lead_counts = np.zeros((len(X), 2 * len(self.codes_)) if lead else (0, 0), dtype=float)
        views = ((self.written_pattern_, self.written_columns_, lambda c: c.text.lower()),
                 (self.kana_pattern_, self.kana_columns_, lambda c: c.reading))
        for view, (pattern, columns_of, field) in enumerate(views):
            if pattern is None:
                continue
            findall = pattern.findall
            for row, comment in enumerate(X):
                for word in findall(field(comment)):
                    for column in columns_of[word]:
                        counts[row, column] += 1
                if lead and view == 0:
                    first = lead_sentence(comment.text)
                    if first == comment.text:  # one sentence: the same matches
                        lead_counts[row] = counts[row]
                    else:
                        for word in findall(first.lower()):
                            for column in columns_of[word]:
                                lead_counts[row, column] += 1
        counts = np.log1p(counts) * self.weight
        if lead:
            # Written matches only (the lead sentence has no reading of its own).
            counts = np.hstack([counts, np.log1p(lead_counts[:, 0::2]) * self.lead_weight])
        return sparse.csr_matrix(counts)


# Where the first sentence of a comment ends: 。!? or a full stop, or a space
# before a word that adds a second point (ただ, あと, でも...).
_SENTENCE_END = re.compile(r"[。!?.]+|(?<=\S)\s+(?=ただ|あと|でも|それと|また)")


def lead_sentence(text):
    """The first sentence of a normalised comment (the whole text if it has one).

    Comments that raise several points usually put the main one first
    (「親切でした。ただ待ち時間が長い」), so the catalog also looks at it alone.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    for part in _SENTENCE_END.split(text):
        if part.strip():
            return part.strip()
    return text


class AnalysedComment(tuple):
    """A normalised comment with its tokens, kana reading and lead-sentence tokens."""

    __slots__ = ()

    def __new__(cls, text, tokens, reading, lead_tokens=None):
        tokens = tuple(tokens)
        return super().__new__(cls, (text, tokens, reading, tokens if lead_tokens is None else tuple(lead_tokens)))

    def __getnewargs__(self):
        return tuple(self)

    text = property(lambda self: self[0])
    tokens = property(lambda self: self[1])
    reading = property(lambda self: self[2])
    lead_tokens = property(lambda self: self[3])


def analyze_comments(texts, tokenizer=None, weights=None):
    """Tokenize distinct normalised texts once for every feature view.

    Parameters
    ----------
    texts : list of str
        Normalised texts.
    tokenizer : JapaneseTokenizer, optional
    weights : list of int, optional
        How many comments each text stands for (display-form counts).

    Returns
    -------
    list of AnalysedComment
    """
    tokenizer = tokenizer if tokenizer is not None else JapaneseTokenizer()
    texts = list(texts)
    if weights is None:
        unique = list(dict.fromkeys(texts))
    else:
        unique, weights = texts, list(weights)
    analysed = dict(zip(unique, tokenizer.analyze(unique, weights)))
    # Lead sentences of multi-sentence comments are tokenized on their own
    # (without counting display forms twice).
    leads = {text: lead_sentence(text) for text in unique}
    extra = list(dict.fromkeys(lead for text, lead in leads.items() if lead != text and lead not in analysed))
    lead_tokens = {text: tokens for text, (tokens, _) in analysed.items()}
    if extra:
        lead_tokens.update(zip(extra, (r[0] for r in tokenizer._tokenize_unique(extra, with_reading=False))))
    return [AnalysedComment(text, *analysed[text], lead_tokens[leads[text]]) for text in texts]


def _words_and_pairs(comment):
    tokens = comment.tokens
    return list(tokens) + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


def _text(comment):
    return comment.text


def _reading(comment):
    return comment.reading


def _lead(comment):
    return list(comment.lead_tokens)


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
            ("words", _Select("comment", TfidfVectorizer(analyzer=_words_and_pairs, **options))),
            ("chars", _Select("text", TfidfVectorizer(analyzer="char", ngram_range=CHAR_NGRAMS, **options))),
            ("lead", _Select("comment", TfidfVectorizer(analyzer=_lead, **options))),
            ("seeds", SeedWordCounter(seed_words, weight=SEED_WEIGHT, tokenizer=tokenizer,
                                      lead_weight=LEAD_SEED_WEIGHT)),
            ("meaning", _Select("tokens", WordVectorMean(sparse_output=True))),
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
    threshold : float, default=0.51
        Minimum probability of the best theme for a comment to be assigned
        (see :func:`choose_threshold`).
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
        return np.vstack(fork_map_blocks(self.classifier_.predict_proba, list(analysed), n_jobs))

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
