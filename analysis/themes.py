"""Unsupervised discovery of comment themes.

Method (chosen by measurement on the labelled dev comments, see
``benchmarks/bench_themes.py``):

1. No-comment answers are set aside (label -1) and identical normalised
   comments are merged, so neither can form a theme.
2. Each comment is seen through several TF-IDF views (content-word tokens,
   character n-grams of those tokens, character n-grams of the raw text):
   tokens generalise across inflection and synonyms, character n-grams across
   compounds and spellings the tokenizer does not know. Each view also
   carries the comment's TF-IDF-weighted mean of pretrained word vectors
   (:mod:`analysis.word_vectors`), which brings together comments that say
   the same thing in different words (パソコン / 端末, 親切 / 優しい).
3. For every view and several neighbourhood sizes a k-nearest-neighbour
   graph is built and spectrally embedded; k-means on each embedding gives
   one partition. The partitions vote in a co-association matrix (consensus
   clustering), which is cut by average linkage. Voting removes most of the
   run-to-run instability of a single k-means.
4. The number of themes is the k at which the partitions agree most (mean
   pairwise adjusted Rand index across views, neighbourhoods and seeds): a
   stability criterion, not silhouette distances, which mean little for
   short sparse texts. On the dev comments it beat PAC, which keeps
   falling as k grows.
5. Everything runs on a sample of at most ``sample_size`` distinct comments;
   the others go to the nearest theme centroid.
6. Each theme is named by its most distinctive words under class-based
   TF-IDF (tf per theme x log(1 + A / f_t), as in BERTopic), shown in the
   spelling people wrote.
"""

import collections
import itertools

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.manifold import spectral_embedding
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.utils import check_random_state

from .clauses import content_spans
from .nocomment import is_no_comment
from .text import normalize
from .tokenizer import JapaneseTokenizer
from .word_vectors import WordVectorMean

__all__ = ["ThemeDiscovery", "class_tfidf", "identity_analyzer"]

NO_THEME = -1
# (weight of token view, weight of token char n-grams, weight of raw-text char n-grams)
VIEW_WEIGHTS = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.7, 0.3, 0.3), (0.0, 0.7, 0.7))
# The view that assigns comments left out of the sample and scores every comment.
ASSIGN_VIEW = VIEW_WEIGHTS[1]
# Weight of the word-vector block next to the unit-length sparse views. On the
# dev comments (auto k, seeds 0-11) NMI min/median: none 0.434/0.450, 0.25
# 0.453/0.474, 0.3 0.458/0.476 (k 9-10 on every seed), 0.4 0.429/0.473, 0.5
# 0.448/0.475; from 0.4 up some seeds collapse to k=6.
DENSE_WEIGHT = 0.3
NEIGHBOURS = (10, 15, 25)
# Caps the automatic number of themes on small inputs.
MIN_COMMENTS_PER_THEME = 5


def identity_analyzer(tokens):
    """Analyzer for vectorizers fed with already tokenized documents.

    Parameters
    ----------
    tokens : list of str

    Returns
    -------
    list of str
        ``tokens`` unchanged.
    """
    return tokens


def class_tfidf(token_lists, labels, weights=None):
    """Class-based TF-IDF: how distinctive each word is of each class.

    ``score(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` with ``tf`` the
    frequency of word ``t`` in class ``c``, ``|c|`` the number of words in
    the class, ``A`` the average number of words per class and ``f(t)`` the
    frequency of ``t`` over all classes.

    Parameters
    ----------
    token_lists : list of list of str
    labels : array-like of int
        Class of each document; negative labels are ignored.
    weights : array-like of float, optional
        Multiplicity of each document (default 1).

    Returns
    -------
    scores : scipy.sparse.csr_matrix of shape (n_classes, n_words)
    vocabulary : list of str
        Word of each column.
    classes : ndarray
        Class of each row, sorted.
    """
    labels = np.asarray(labels)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    classes = np.unique(labels[labels >= 0])
    row_of = {c: i for i, c in enumerate(classes)}
    vocabulary, column_of = [], {}
    rows, cols, vals = [], [], []
    for tokens, label, weight in zip(token_lists, labels, weights):
        if label < 0:
            continue
        for token in tokens:
            col = column_of.get(token)
            if col is None:
                col = column_of[token] = len(vocabulary)
                vocabulary.append(token)
            rows.append(row_of[label])
            cols.append(col)
            vals.append(weight)
    tf = sparse.csr_matrix((vals, (rows, cols)), shape=(len(classes), len(vocabulary)))
    tf.sum_duplicates()
    words_per_class = np.asarray(tf.sum(axis=1)).ravel()
    average = words_per_class.mean() if len(classes) else 0.0
    frequency = np.asarray(tf.sum(axis=0)).ravel()
    idf = np.log1p(average / np.maximum(frequency, 1e-12))
    scores = sparse.diags(1.0 / np.maximum(words_per_class, 1e-12)) @ tf @ sparse.diags(idf)
    return sparse.csr_matrix(scores), vocabulary, classes


def _pairs(counts):
    return (counts * (counts - 1) / 2).sum()


def adjusted_rand(a, b):
    """Adjusted Rand index of two labelings by 0..k-1 integers.

    The same value as ``sklearn.metrics.adjusted_rand_score`` from one
    ``bincount``: the selection of k compares thousands of partition pairs,
    where sklearn's input checks cost more than the arithmetic.
    """
    k_b = int(b.max()) + 1
    contingency = np.bincount(a * k_b + b, minlength=(int(a.max()) + 1) * k_b).astype(float)
    together = _pairs(contingency)
    rows = _pairs(contingency.reshape(-1, k_b).sum(axis=1))
    columns = _pairs(contingency.reshape(-1, k_b).sum(axis=0))
    expected = rows * columns / (len(a) * (len(a) - 1) / 2)
    maximum = (rows + columns) / 2
    if maximum == expected:  # both labelings are a single cluster (or each point its own)
        return 1.0
    return float((together - expected) / (maximum - expected))


def _agreement(partitions):
    """Mean adjusted Rand index between all pairs of partitions.

    ARI is corrected for chance, so unlike raw co-association statistics
    (PAC) it does not keep rising with the number of clusters.
    """
    pairs = itertools.combinations(partitions, 2)
    return float(np.mean([adjusted_rand(a, b) for a, b in pairs]))


# A label is a phrase a reader takes in at a glance.
MAX_LABEL_LENGTH = 24
_TRAILING_MARKS = "。、,.!?！？…・ー〜~ "


def central_phrase(texts, words):
    """The shortest clause of the most central comments that holds the most distinctive words.

    Parameters
    ----------
    texts : list of str
        Normalised comments, most central first.
    words : list of str
        The theme's distinctive tokens (lemmas), most distinctive first.

    Returns
    -------
    str
        For example 「相談員をもっと配置してほしい」; ``""`` when no clause fits.
    """
    best, best_key = "", None
    for rank, text in enumerate(texts):
        for start, end in content_spans(text):
            phrase = text[start:end].strip().rstrip(_TRAILING_MARKS).lstrip(_TRAILING_MARKS)
            if not phrase or len(phrase) > MAX_LABEL_LENGTH:
                continue
            hits = sum(word in phrase for word in words)
            key = (-hits, rank, len(phrase))
            if best_key is None or key < best_key:
                best, best_key = phrase, key
    return best


class ThemeDiscovery(ClusterMixin, BaseEstimator):
    """Group free comments into themes without labels.

    Parameters
    ----------
    n_themes : int or "auto", default="auto"
        Number of themes; "auto" picks it in ``k_range`` by stability
        (highest mean pairwise ARI between the base partitions).
    k_range : tuple of int, default=(6, 16)
        Inclusive range of theme counts tried when ``n_themes="auto"``.
    sample_size : int, default=2000
        Distinct comments clustered; the rest are assigned to the nearest
        theme centroid. Bounds time and memory on large surveys.
    n_top_words : int, default=3
        Distinctive words joined into each theme's label.
    n_representatives : int, default=5
        Representative comments kept per theme.
    tokenizer : JapaneseTokenizer, optional
        Tokenizer to use (cloned); default ``JapaneseTokenizer()``.
    word_vectors : "default", WordVectors or None, default="default"
        Pretrained word vectors added to every view; "default" uses the
        installed chiVe vectors when there are any, None uses none.
    n_jobs : int, default=1
        Processes for tokenizing large inputs.
    random_state : int, RandomState or None, default=None
        Seed for sampling, spectral embeddings and k-means.

    Attributes
    ----------
    labels_ : ndarray of shape (n_comments,)
        Theme of each comment, ``-1`` for no-comment answers.
    scores_ : ndarray of shape (n_comments,)
        Cosine similarity of each comment to its theme centroid (NaN for -1).
    n_themes_ : int
    k_scores_ : dict
        Stability (mean pairwise ARI) of each candidate theme count.
    themes_ : pandas.DataFrame
        One row per theme: ``theme``, ``label``, ``size``, ``top_words``,
        ``representatives``; themes are numbered by decreasing size.
    tokenizer_ : JapaneseTokenizer
        The fitted tokenizer (display forms of words).
    word_vectors_name_ : str or None
        Source of the word vectors used, None when none were.
    """

    def __init__(
        self,
        n_themes="auto",
        k_range=(6, 16),
        sample_size=2000,
        n_top_words=3,
        n_representatives=5,
        tokenizer=None,
        word_vectors="default",
        n_jobs=1,
        random_state=None,
    ):
        self.n_themes = n_themes
        self.k_range = k_range
        self.sample_size = sample_size
        self.n_top_words = n_top_words
        self.n_representatives = n_representatives
        self.tokenizer = tokenizer
        self.word_vectors = word_vectors
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- features --

    def _views(self, tokens, normalized, view_weights=VIEW_WEIGHTS):
        """Stack the blocks of each view (weights per block), rows L2-normalised."""
        blocks = [
            self.word_vectorizer_.transform(tokens),
            self.token_char_vectorizer_.transform([" ".join(t) for t in tokens]),
            self.text_char_vectorizer_.transform(normalized),
        ]
        meaning = self.meaning_.transform(tokens)
        dense = [DENSE_WEIGHT * meaning] if meaning.shape[1] else []
        views = []
        for weights in view_weights:
            parts = [w * b for w, b in zip(weights, blocks) if w]
            views.append(l2_normalize(sparse.hstack(parts + dense).tocsr()))
        return views

    def _assign_view(self, tokens, normalized):
        return self._views(tokens, normalized, [ASSIGN_VIEW])[0]

    def _fit_vectorizers(self, tokens, normalized):
        options = dict(sublinear_tf=True, min_df=2, dtype=np.float32)
        self.word_vectorizer_ = TfidfVectorizer(analyzer=identity_analyzer, **options).fit(tokens)
        self.token_char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), **options
        ).fit([" ".join(t) for t in tokens])
        self.text_char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 3), **options
        ).fit(normalized)
        # Unlike the word view (min_df=2), words seen once count: their vectors relate them to others.
        self.meaning_ = WordVectorMean(self.word_vectors, sparse_output=True).fit(tokens)
        self.word_vectors_name_ = getattr(self.meaning_.vectors_, "name", None)

    # -- clustering --

    def _embeddings(self, views, max_k, rng):
        """Spectral embedding of each (view, neighbourhood) kNN graph."""
        n = views[0].shape[0]
        embeddings = []
        for view in views:
            # One neighbour search per view; smaller neighbourhoods are its first columns.
            nearest = NearestNeighbors(n_neighbors=min(max(NEIGHBOURS), n - 1), metric="cosine")
            neighbours = nearest.fit(view).kneighbors(return_distance=False)
            for n_neighbors in NEIGHBOURS:
                k = min(n_neighbors, n - 1)
                graph = sparse.csr_matrix(
                    (np.ones(n * k), neighbours[:, :k].ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
                )
                graph = 0.5 * (graph + graph.T)
                maps = spectral_embedding(
                    graph, n_components=max_k, random_state=rng.randint(2**31 - 1), drop_first=False
                )
                embeddings.append(maps)
        return embeddings

    @staticmethod
    def _partitions(embeddings, k, seed):
        """One k-means partition per spectral embedding."""
        return [
            KMeans(k, n_init=1, random_state=seed).fit_predict(l2_normalize(maps[:, :k]))
            for maps in embeddings
        ]

    def _cluster_sample(self, views, rng):
        n = views[0].shape[0]
        if self.n_themes == "auto":
            low, high = self.k_range
            # A theme should hold at least a handful of comments.
            high = max(2, min(high, n // MIN_COMMENTS_PER_THEME))
            candidates = list(range(max(2, min(low, high)), high + 1))
        else:
            candidates = [int(self.n_themes)]
        embeddings = self._embeddings(views, max(candidates), rng)
        seed = rng.randint(2**31 - 1)
        k_scores, best = {}, None
        for k in candidates:
            partitions = self._partitions(embeddings, k, seed)
            k_scores[k] = _agreement(partitions) if len(candidates) > 1 else float("nan")
            if best is None or k_scores[k] > best[0]:
                best = (k_scores[k], k, partitions)
        _, k, partitions = best
        coassociation = np.zeros((n, n), dtype=np.float32)
        for labels in partitions:
            coassociation += labels[:, None] == labels[None, :]
        coassociation /= len(partitions)
        labels = AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(
            1.0 - coassociation
        )
        return labels, k_scores

    # -- fitting --

    def fit(self, X, y=None):
        """Discover themes in comments.

        Parameters
        ----------
        X : iterable of str
            Raw comments (None/NaN allowed).
        y : ignored

        Returns
        -------
        self
        """
        texts = list(X)
        return self._fit_normalized(texts, [normalize(t) for t in texts])

    def _fit_normalized(self, texts, normalized, tokens_of=None, tokenizer=None, weights=None):
        """Fit on normalised texts; ``tokens_of`` (text -> tokens) and a fitted
        ``tokenizer`` let a caller that already tokenized the comments share them;
        ``weights`` says how many comments each text stands for (default 1)."""
        rng = check_random_state(self.random_state)
        no_comment = {text: is_no_comment(text) for text in set(normalized)}
        counts = collections.Counter()
        for i, t in enumerate(normalized):
            if not no_comment[t]:
                counts[t] += 1 if weights is None else weights[i]
        unique = sorted(counts)  # sorted: independent of input order
        if len(unique) < 3:
            raise ValueError("ThemeDiscovery needs at least 3 distinct comments with content")

        if tokens_of is not None and tokenizer is not None:
            self.tokenizer_ = tokenizer
            tokens = [list(tokens_of[t]) for t in unique]
        else:
            tokenizer = JapaneseTokenizer() if self.tokenizer is None else self.tokenizer
            self.tokenizer_ = clone(tokenizer).set_params(n_jobs=self.n_jobs)
            self.tokenizer_.fit([t for t in normalized if not no_comment[t]])
            tokens = self.tokenizer_.transform(unique)
        self._fit_vectorizers(tokens, unique)

        if len(unique) > self.sample_size:
            sample = np.sort(rng.choice(len(unique), self.sample_size, replace=False))
        else:
            sample = np.arange(len(unique))
        views = self._views([tokens[i] for i in sample], [unique[i] for i in sample])
        sample_labels, self.k_scores_ = self._cluster_sample(views, rng)

        # Centroids in the richest view assign the comments left out of the sample.
        assign_view = self._assign_view(tokens, unique)
        unique_labels = self._assign_to_centroids(assign_view, sample, sample_labels)
        unique_labels, scores = self._relabel_by_size(assign_view, unique_labels, counts, unique)

        self.n_themes_ = int(unique_labels.max()) + 1
        label_of = dict(zip(unique, unique_labels))
        score_of = dict(zip(unique, scores))
        self.labels_ = np.array([label_of.get(t, NO_THEME) for t in normalized], dtype=int)
        self.scores_ = np.array([score_of.get(t, np.nan) for t in normalized], dtype=float)
        self.themes_ = self._describe(texts, normalized, unique, tokens, unique_labels, scores, counts)
        return self

    def _assign_to_centroids(self, view, sample, sample_labels):
        k = int(sample_labels.max()) + 1
        centroids = l2_normalize(
            np.vstack([np.asarray(view[sample[sample_labels == c]].mean(axis=0)) for c in range(k)])
        )
        labels = np.asarray((view @ centroids.T).argmax(axis=1)).ravel()
        labels[sample] = sample_labels  # the consensus decides for clustered comments
        return labels

    def _relabel_by_size(self, view, labels, counts, unique):
        """Number themes by decreasing size; compute centroids and scores."""
        weights = np.array([counts[t] for t in unique], dtype=float)
        present = np.unique(labels)
        sizes = {c: weights[labels == c].sum() for c in present}
        order = sorted(present, key=lambda c: (-sizes[c], c))
        mapping = {old: new for new, old in enumerate(order)}
        labels = np.array([mapping[c] for c in labels], dtype=int)
        self.centroids_ = l2_normalize(
            np.vstack([np.asarray(view[labels == c].mean(axis=0)) for c in range(len(order))])
        )
        similarity = view @ self.centroids_.T
        scores = np.asarray(similarity)[np.arange(len(labels)), labels]
        return labels, scores

    def _describe(self, texts, normalized, unique, tokens, labels, scores, counts):
        # Labels are the theme's most telling short phrase, read as people wrote it.
        first_raw = {}
        for raw, norm in zip(texts, normalized):
            first_raw.setdefault(norm, raw)
        weights = [counts[t] for t in unique]
        ctfidf, vocabulary, classes = class_tfidf(tokens, labels, weights)
        rows = []
        for row, theme in enumerate(classes):
            values = ctfidf[row].toarray().ravel()
            top = [vocabulary[i] for i in np.argsort(-values, kind="stable")[: self.n_top_words] if values[i] > 0]
            shown = [self.tokenizer_.display_form(w) for w in top]
            members = np.flatnonzero(labels == theme)
            best = members[np.argsort(-scores[members], kind="stable")][: self.n_representatives]
            rows.append(
                {
                    "theme": int(theme),
                    "label": central_phrase([unique[i] for i in best], top) or "・".join(shown) or f"テーマ{theme + 1}",
                    "size": int(sum(counts[unique[i]] for i in members)),
                    "top_words": shown,
                    "representatives": [first_raw[unique[i]] for i in best],
                }
            )
        return pd.DataFrame(rows, columns=["theme", "label", "size", "top_words", "representatives"])

    def predict(self, X):
        """Assign new comments to the nearest discovered theme.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        labels : ndarray of int
            ``-1`` for no-comment answers.
        """
        return self.predict_with_scores(X)[0]

    def predict_with_scores(self, X):
        """Like :meth:`predict`, also returning the cosine score to the centroid.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        labels : ndarray of int
        scores : ndarray of float
            NaN for no-comment answers.
        """
        normalized = [normalize(t) for t in X]
        labels = np.full(len(normalized), NO_THEME, dtype=int)
        scores = np.full(len(normalized), np.nan)
        keep = [i for i, t in enumerate(normalized) if not is_no_comment(t)]
        if keep:
            kept = [normalized[i] for i in keep]
            tokens = self.tokenizer_.transform(kept)
            view = self._assign_view(tokens, kept)
            similarity = np.asarray(view @ self.centroids_.T)
            labels[keep] = similarity.argmax(axis=1)
            scores[keep] = similarity.max(axis=1)
        return labels, scores

    def fit_predict(self, X, y=None):
        """Fit and return the theme of each comment (``-1`` for no comment).

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        ndarray of int
        """
        return self.fit(X).labels_
