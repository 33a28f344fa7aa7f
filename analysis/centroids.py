"""Discovered themes as centroids in a fixed feature space, so later comments can join them.

Discovery's own views are TF-IDF vectorizers fitted on the comments of one run; keeping them
would mean pickling models with the run. An incremental run instead compares new comments
with each discovered theme's centroid in a space that needs no fitting: hashed character
2–3-grams of the normalised text (like discovery's raw-text view), L2-normalised. A centroid
is the weighted mean of its members, stored sparse (its largest coordinates) with the run.
"""

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

__all__ = ["SPACE", "centroids", "features", "nearest"]

N_FEATURES = 2**18
# Coordinates kept per centroid: the rest carry a few percent of its weight.
N_TERMS = 2000
# Names the space: a stored centroid of another space cannot be compared.
SPACE = f"char_wb2-3/hash{N_FEATURES}/v1"

_VECTORIZER = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 3), n_features=N_FEATURES,
                                alternate_sign=False, norm="l2", dtype=np.float32)


def features(normalized):
    """Rows of the fixed space for normalised texts (sparse, unit length)."""
    return _VECTORIZER.transform(list(normalized))


def centroids(normalized, codes, weights=None):
    """The centroid of each code's texts, as JSON-ready dicts.

    Parameters
    ----------
    normalized : list of str
    codes : list of str
        Theme of each text.
    weights : list of float, optional
        How many comments each text stands for.

    Returns
    -------
    dict of str to dict
        ``{code: {"space": SPACE, "index": [...], "value": [...]}}``.
    """
    rows = features(normalized)
    weights = np.ones(len(codes)) if weights is None else np.asarray(weights, dtype=float)
    codes = np.asarray(codes, dtype=object)
    out = {}
    for code in sorted(set(codes.tolist())):
        members = np.flatnonzero(codes == code)
        mean = np.asarray(rows[members].T @ weights[members]).ravel()
        keep = np.argsort(-mean, kind="stable")[:N_TERMS]
        keep = np.sort(keep[mean[keep] > 0])
        values = mean[keep]
        values = values / max(float(np.linalg.norm(values)), 1e-12)
        out[code] = {"space": SPACE, "index": keep.tolist(), "value": [round(float(v), 6) for v in values]}
    return out


def _matrix(stored):
    codes = [code for code, centroid in stored.items()
             if centroid and centroid.get("space") == SPACE]
    if not codes:  # a run without discovered themes: nothing to join (and nothing to normalise)
        return codes, None
    data, indices, indptr = [], [], [0]
    for code in codes:
        indices.extend(stored[code]["index"])
        data.extend(stored[code]["value"])
        indptr.append(len(indices))
    matrix = sparse.csr_matrix((np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64),
                                np.asarray(indptr)), shape=(len(codes), N_FEATURES))
    return codes, l2_normalize(matrix)


def nearest(normalized, stored):
    """The nearest stored centroid of each normalised text and its cosine similarity.

    Parameters
    ----------
    normalized : list of str
    stored : dict of str to dict
        As returned by :func:`centroids`; centroids of another space are ignored.

    Returns
    -------
    codes : list of str or None
        None for every text when no centroid is usable.
    scores : ndarray of float
    """
    codes, matrix = _matrix(stored)
    if not codes or not len(normalized):
        return [None] * len(normalized), np.full(len(normalized), np.nan)
    similarity = (features(normalized) @ matrix.T).toarray()
    best = similarity.argmax(axis=1)
    return [codes[i] for i in best], similarity[np.arange(len(best)), best]
