"""Pretrained Japanese word vectors, so that comments worded differently
(パソコン / PC / 検索機, 親切 / 優しい) land near each other.

The vectors are chiVe (Works Applications, Apache-2.0) as pruned and shipped
in the ``ja-ginza`` wheel on PyPI (MIT): 20,000 vectors of 300 dimensions and
a table mapping about 480,000 words to them. ``make install`` installs that
wheel without its dependencies (spaCy is never imported); only its vocabulary
files are read here. Without the wheel, the analysis runs on its sparse
features alone and says so once.
"""

import collections
import functools
import importlib.metadata
import math
import warnings
from pathlib import Path

import msgpack
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize as l2_normalize

__all__ = ["WordVectors", "WordVectorMean", "default_word_vectors", "spacy_hash"]

PACKAGE = "ja-ginza"
# Stands for default_word_vectors() in a pickled WordVectorMean.
_SHIPPED_VECTORS = "default word vectors"
_MULTIPLIER = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1


def spacy_hash(word):
    """spaCy's string hash: MurmurHash64A of the UTF-8 bytes with seed 1.

    Parameters
    ----------
    word : str

    Returns
    -------
    int
        Unsigned 64-bit key as stored in a spaCy vocabulary's ``key2row``.
    """
    data = word.encode("utf-8")
    h = (1 ^ (len(data) * _MULTIPLIER)) & _MASK
    n_blocks = len(data) // 8
    for i in range(n_blocks):
        k = (int.from_bytes(data[8 * i : 8 * i + 8], "little") * _MULTIPLIER) & _MASK
        k = ((k ^ (k >> 47)) * _MULTIPLIER) & _MASK
        h = ((h ^ k) * _MULTIPLIER) & _MASK
    tail = data[8 * n_blocks :]
    if tail:
        h = ((h ^ int.from_bytes(tail, "little")) * _MULTIPLIER) & _MASK
    h = ((h ^ (h >> 47)) * _MULTIPLIER) & _MASK
    return h ^ (h >> 47)


class WordVectors:
    """A read-only table of unit-length word vectors.

    Parameters
    ----------
    vectors : ndarray of shape (n_rows, dim)
    keys : ndarray of uint64
        Sorted word hashes (see :func:`spacy_hash`).
    rows : ndarray of int
        Row of ``vectors`` for each key.
    name : str
        Names the source and version; recorded with every analysis run.
    """

    def __init__(self, vectors, keys, rows, name):
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        self.keys = keys
        self.rows = rows
        self.name = name

    @property
    def dim(self):
        return self.vectors.shape[1]

    @classmethod
    def from_spacy_vocab(cls, directory, name=None):
        """Read a spaCy ``vocab/`` directory (``vectors`` and ``key2row``).

        Parameters
        ----------
        directory : str or Path
        name : str, optional

        Returns
        -------
        WordVectors
        """
        directory = Path(directory)
        vectors = np.load(directory / "vectors", allow_pickle=False)
        key2row = msgpack.unpackb((directory / "key2row").read_bytes(), strict_map_key=False)
        keys = np.fromiter(key2row.keys(), dtype=np.uint64, count=len(key2row))
        rows = np.fromiter(key2row.values(), dtype=np.int64, count=len(key2row))
        order = np.argsort(keys)
        return cls(vectors, keys[order], rows[order], name or str(directory))

    def lookup(self, words):
        """Vectors of ``words``; unknown words get a zero row.

        Parameters
        ----------
        words : sequence of str

        Returns
        -------
        vectors : ndarray of shape (len(words), dim)
        known : ndarray of bool
        """
        hashes = np.array([spacy_hash(w) for w in words], dtype=np.uint64)
        position = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        known = self.keys[position] == hashes if len(self.keys) else np.zeros(len(words), bool)
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        out[known] = self.vectors[self.rows[position[known]]]
        return out, known

    def __repr__(self):
        return f"WordVectors({self.name!r}, {len(self.keys)} words, dim={self.dim})"


@functools.cache
def default_word_vectors():
    """The chiVe vectors from the installed ``ja-ginza`` wheel, or None (with a warning).

    Returns
    -------
    WordVectors or None
    """
    try:
        distribution = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        problem = f"{PACKAGE} is not installed (make install installs it)"
    else:
        directory = Path(distribution.locate_file(f"ja_ginza/ja_ginza-{distribution.version}/vocab"))
        if (directory / "key2row").is_file() and (directory / "vectors").is_file():
            return WordVectors.from_spacy_vocab(directory, name=f"chiVe via {PACKAGE} {distribution.version}")
        problem = f"{PACKAGE} {distribution.version} has no word vectors at {directory}"
    warnings.warn(f"{problem}: themes use sparse features only", stacklevel=2)
    return None


class WordVectorMean(TransformerMixin, BaseEstimator):
    """Each tokenized comment as the TF-IDF-weighted mean of its word vectors.

    Unlike a TF-IDF vector, it relates comments that share no word but mean
    the same. Words met only at transform time still count (with the highest
    IDF): their vectors place them among the words seen in fit.

    Parameters
    ----------
    word_vectors : "default", WordVectors or None, default="default"
        None (or no installed vectors) gives zero columns, so the transformer
        can sit in a FeatureUnion either way.
    sparse_output : bool, default=False
        Return a CSR matrix (every entry stored) instead of an array: next to
        sparse TF-IDF blocks it stacks without a dense-to-sparse conversion.

    Attributes
    ----------
    vectors_ : WordVectors or None
    idf_ : dict of str to float
        Smoothed IDF of the words seen in fit, as in ``TfidfVectorizer``.
    """

    def __init__(self, word_vectors="default", sparse_output=False):
        self.word_vectors = word_vectors
        self.sparse_output = sparse_output

    # -- pickling: the shipped vectors (tens of MB) are found again, not copied into the pickle --

    def __getstate__(self):
        state = dict(super().__getstate__())
        if self.word_vectors == "default" and state.get("vectors_") is not None:
            state["vectors_"] = _SHIPPED_VECTORS
        return state

    def __setstate__(self, state):
        if isinstance(state.get("vectors_"), str) and state["vectors_"] == _SHIPPED_VECTORS:
            state = {**state, "vectors_": default_word_vectors()}
        super().__setstate__(state)

    def fit(self, X, y=None):
        """Learn word IDFs from token lists.

        Parameters
        ----------
        X : iterable of list of str
        y : ignored

        Returns
        -------
        self
        """
        X = list(X)
        self.vectors_ = default_word_vectors() if self.word_vectors == "default" else self.word_vectors
        document_frequency = collections.Counter(t for tokens in X for t in set(tokens))
        n = len(X)
        self.idf_ = {t: math.log((1 + n) / (1 + df)) + 1 for t, df in document_frequency.items()}
        self.unseen_idf_ = math.log(1 + n) + 1
        return self

    def transform(self, X):
        """Unit-length mean vectors (zero rows for comments without a known word).

        Parameters
        ----------
        X : iterable of list of str

        Returns
        -------
        ndarray or csr_matrix of shape (n_comments, dim), dim 0 without vectors
        """
        X = list(X)
        if self.vectors_ is None:
            means = np.zeros((len(X), 0), dtype=np.float32)
            return sparse.csr_matrix(means) if self.sparse_output else means
        # Columns in sorted term order: each row then sums its words in the same order whatever
        # else is in the batch, so a comment gets the same vector alone, in a block or in a worker.
        column = {term: i for i, term in enumerate(sorted({term for tokens in X for term in tokens}))}
        indptr, indices = [0], []
        for tokens in X:
            indices += [column[term] for term in tokens]
            indptr.append(len(indices))
        tf_idf = sparse.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(X), len(column))
        )
        tf_idf.sum_duplicates()  # repeated words: counts
        idf = np.array([self.idf_.get(term, self.unseen_idf_) for term in column], dtype=np.float32)
        tf_idf.data = (1 + np.log(tf_idf.data)) * idf[tf_idf.indices]
        term_vectors, _ = self.vectors_.lookup(list(column))
        means = l2_normalize(np.asarray(tf_idf @ term_vectors))
        if not self.sparse_output:
            return means
        n, dim = means.shape
        return sparse.csr_matrix(
            (means.ravel(), np.tile(np.arange(dim, dtype=np.int32), n), np.arange(0, n * dim + 1, dim)),
            shape=(n, dim),
        )
