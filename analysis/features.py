"""Feature views of analysed comments shared by the catalog and the mention model.

A comment is tokenized once (:func:`analyze_comments`); its words, characters,
kana reading, lead sentence and seed-word counts feed the classifiers.
"""

import re
import weakref

import numpy as np
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .text import normalize
from .tokenizer import JapaneseTokenizer

__all__ = ["SeedWordCounter", "AnalysedComment", "analyze_comments", "lead_sentence", "lead_tokens", "Select",
           "words_and_pairs", "count_terms"]


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


def analyze_comments(texts, tokenizer=None, weights=None, count=True):
    """Tokenize distinct normalised texts once for every feature view.

    Parameters
    ----------
    texts : list of str
        Normalised texts.
    tokenizer : JapaneseTokenizer, optional
    weights : list of int, optional
        How many comments each text stands for (display-form counts).
    count : bool, default=True
        Count the texts' display forms in ``tokenizer``; False leaves it as
        it was (a fitted model's tokenizer analysing what it predicts on).

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
    if count:
        analysed = dict(zip(unique, tokenizer.analyze(unique, weights)))
    else:
        results = tokenizer._tokenize_unique(unique)
        analysed = {text: (keys, reading) for text, (keys, _, reading) in zip(unique, results)}
    # Lead sentences of multi-sentence comments are tokenized on their own
    # (without counting display forms twice).
    leads = {text: lead_sentence(text) for text in unique}
    extra = list(dict.fromkeys(lead for text, lead in leads.items() if lead != text and lead not in analysed))
    lead_tokens_of = {text: tokens for text, (tokens, _) in analysed.items()}
    if extra:
        lead_tokens_of.update(zip(extra, (r[0] for r in tokenizer._tokenize_unique(extra, with_reading=False))))
    return [AnalysedComment(text, *analysed[text], lead_tokens_of[leads[text]]) for text in texts]


def words_and_pairs(comment):
    tokens = comment.tokens
    return list(tokens) + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


def lead_tokens(comment):
    return list(comment.lead_tokens)


# Runs of white space become one space before character n-grams (as in sklearn's char analyzer).
_WHITE_SPACES = re.compile(r"\s\s+")
# A character n-gram (n <= 3) as one integer: its code points in 21-bit fields, _NO_CHAR after its end.
_CODE_BITS = 21
_NO_CHAR = (1 << _CODE_BITS) - 1


def _ngram_keys(codes, n):
    """Integer keys of the n-grams starting at each position of a code-point array (padded with _NO_CHAR)."""
    keys = np.zeros(len(codes), dtype=np.int64)
    for shift in range(3):
        part = np.full(len(codes), _NO_CHAR, dtype=np.int64)
        if shift < n:
            part[: len(codes) - shift] = codes[shift:]
        keys = (keys << _CODE_BITS) | part
    return keys


# Fitted vectorizer -> its n-gram keys, sorted, and their columns (computed once per vectorizer).
_char_vocabularies = weakref.WeakKeyDictionary()


def _term_key(term):
    key = 0
    for i in range(3):
        key = (key << _CODE_BITS) | (ord(term[i]) if i < len(term) else _NO_CHAR)
    return key


def _char_vocabulary(vectorizer):
    cached = _char_vocabularies.get(vectorizer)
    if cached is None or cached[0] is not vectorizer.vocabulary_:
        terms = [t for t in vectorizer.vocabulary_ if 0 < len(t) <= 3]
        keys = np.array([_term_key(t) for t in terms], dtype=np.int64)
        order = np.argsort(keys)
        columns = np.array([vectorizer.vocabulary_[t] for t in terms], dtype=np.int64)[order]
        cached = _char_vocabularies[vectorizer] = (vectorizer.vocabulary_, keys[order], columns)
    return cached[1:]


def _char_counts(vectorizer, documents):
    """Character n-gram counts of a fitted ``analyzer="char"`` vectorizer, as its ``transform`` counts them.

    scikit-learn builds and looks up each n-gram of each document in Python,
    the largest cost of scoring a big survey's clauses; here all documents'
    n-grams are integer keys looked up at once with numpy. None for settings
    this does not cover (n above 3, characters beyond Unicode).
    """
    low, high = vectorizer.ngram_range
    if high > 3:
        return None
    preprocess = vectorizer.build_preprocessor()
    texts = [_WHITE_SPACES.sub(" ", preprocess(vectorizer.decode(d))) for d in documents]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    if codes.size and codes.max() >= _NO_CHAR:
        return None
    sorted_keys, columns = _char_vocabulary(vectorizer)
    document = np.repeat(np.arange(len(texts)), lengths)
    ends = np.repeat(np.cumsum(lengths), lengths)
    position = np.arange(codes.size)
    rows, hits = [], []
    for n in range(low, high + 1):
        fits = position + n <= ends
        keys = _ngram_keys(codes, n)[fits]
        found = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
        known = sorted_keys[found] == keys if len(sorted_keys) else np.zeros(len(keys), dtype=bool)
        rows.append(document[fits][known])
        hits.append(columns[found[known]])
    rows, hits = np.concatenate(rows), np.concatenate(hits)
    width = len(vectorizer.vocabulary_)
    cells, counts = np.unique(rows * width + hits, return_counts=True)
    indptr = np.searchsorted(cells // width, np.arange(len(texts) + 1))
    index_dtype = np.int32 if len(cells) <= np.iinfo(np.int32).max else np.int64
    build = sparse.csr_array if sklearn.get_config().get("sparse_interface") == "sparray" else sparse.csr_matrix
    return build((counts.astype(np.intc), (cells % width).astype(index_dtype), indptr.astype(index_dtype)),
                 shape=(len(texts), width), dtype=vectorizer.dtype)


def count_terms(vectorizer, documents):
    """``vectorizer.transform(documents)``, entry for entry, character n-grams counted with numpy.

    Other vectorizers and settings use their own ``transform``.

    Parameters
    ----------
    vectorizer : fitted vectorizer
    documents : list

    Returns
    -------
    sparse matrix of shape (len(documents), len(vectorizer.vocabulary_))
    """
    if not (isinstance(vectorizer, CountVectorizer) and vectorizer.analyzer == "char"
            and vectorizer.input == "content" and hasattr(vectorizer, "vocabulary_")):
        return vectorizer.transform(documents)
    matrix = _char_counts(vectorizer, list(documents))
    if matrix is None:
        return vectorizer.transform(documents)
    if vectorizer.binary:
        matrix.data.fill(1)
    if isinstance(vectorizer, TfidfVectorizer):
        return vectorizer._tfidf.transform(matrix, copy=False)
    return matrix


class Select(TransformerMixin, BaseEstimator):
    """Feed one field of analysed comments to a vectorizer."""

    def __init__(self, field=None, vectorizer=None):
        self.field = field
        self.vectorizer = vectorizer

    def fit(self, X, y=None):
        self.vectorizer_ = clone(self.vectorizer).fit(self._get(X))
        return self

    def transform(self, X):
        return count_terms(self.vectorizer_, self._get(X))

    def _get(self, X):
        if self.field == "comment":
            return list(X)
        return [getattr(comment, self.field) for comment in X]
