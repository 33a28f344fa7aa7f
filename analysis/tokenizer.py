"""Japanese tokenizer for survey comments.

Turns a comment into the content words that carry its meaning: UniDic lemmas
(English glosses stripped), compounds re-joined, light verbs, numerals and stop
words dropped, synonyms merged. It remembers how people actually wrote each
word so that theme labels can show that spelling instead of the lemma.
"""

import collections
import concurrent.futures
import multiprocessing
import re
import threading
from pathlib import Path

import fugashi
from sklearn.base import BaseEstimator, TransformerMixin

from .parallel import can_fork, effective_n_jobs
from .text import normalize

__all__ = [
    "DATA_DIR",
    "JapaneseTokenizer",
    "get_tagger",
    "load_phrases",
    "load_synonyms",
    "load_word_list",
    "to_katakana",
    "tokenize",
]

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_STOPWORDS = DATA_DIR / "stopwords.txt"
DEFAULT_SYNONYMS = DATA_DIR / "synonyms.tsv"
DEFAULT_PHRASES = DATA_DIR / "phrases.txt"

# Below this many distinct texts, starting worker processes costs more than it saves.
PARALLEL_MIN_TEXTS = 2000
# Texts per unit of work shared between processes: small enough to balance
# the load, large enough that taking one costs nothing (about 15 ms of work).
PARALLEL_CHUNK = 256
# Bound on the per-instance cache of tokenized texts used by __call__.
TEXT_CACHE_SIZE = 100_000
# Bound on the per-morpheme and per-compound decision caches.
MORPHEME_CACHE_SIZE = 500_000

# What a morpheme does when building tokens.
_SKIP = 0  # ignored entirely, does not break a compound (honorific お/ご)
_DROP = 1  # dropped and breaks a compound (particles, light verbs, names...)
_WORD = 2  # a standalone content word (verb, adjective, 形状詞)
_NOUN = 3  # joins with neighbouring nouns, prefixes and suffixes
_PREFIX = 4
_SUFFIX = 5
_NUMBER = 6  # numerals: dropped, and the counter after them too
_COUNTER = 7  # 助数詞 suffix: dropped after a numeral
_COUNTABLE_NOUN = 8  # 時間, 台...: a counter after a numeral, a noun otherwise

_CHAINED = frozenset([_NOUN, _PREFIX, _SUFFIX, _COUNTER, _COUNTABLE_NOUN])
_SUFFIX_KINDS = frozenset([_SUFFIX, _COUNTER])
_EMPTY_ENTRY = (_SKIP, None, None)
_EMPTY_DETAILS = ("", 0, 0)
_MISSING = object()
# Separators of the compact results sent back by worker processes.
_TEXT_SEP, _FIELD_SEP, _TOKEN_SEP = "\x1d", "\x1e", "\x1f"

_FUNCTION_POS = frozenset(
    ["補助記号", "記号", "助詞", "助動詞", "接続詞", "連体詞", "感動詞", "空白", "代名詞"]
)
_HONORIFIC_PREFIXES = frozenset(["御", "お", "ご"])
_HONORIFIC_SUFFIXES = frozenset(["さん", "様", "さま", "ちゃん", "君", "くん", "殿", "氏", "達", "たち", "共", "ども", "方"])

_tagger = None
_local = threading.local()

# MeCab output formats for the fast path. A node is printed as its surface
# (with any whitespace before it, %M), then its left and right context ids and
# its word cost: together with the surface they identify the dictionary entry,
# so the line itself is the key of the per-morpheme cache and the long UniDic
# feature string is decoded only the first time an entry is met.
_KEY_FORMAT = r"%M\t%phl,%phr,%c\n"
_FULL_FORMAT = r"%M\t%phl,%phr,%c\t%H\n"
# Hiragana -> katakana, for reading (kana) strings of unknown words.
_TO_KATAKANA = {code: code + 0x60 for code in range(ord("ぁ"), ord("ゖ") + 1)}
# Index of the ``kana`` field (reading as written) in unidic-lite features.
_KANA_FIELD = 17


def to_katakana(text):
    """``じてんしゃ`` -> ``ジテンシャ``; other characters unchanged (Latin lower-cased)."""
    return _fold(text).translate(_TO_KATAKANA)


def get_tagger():
    """Return a process-wide fugashi ``Tagger``, created on first use.

    Returns
    -------
    fugashi.Tagger
        A tagger using the UniDic dictionary shipped by ``unidic-lite``.
    """
    global _tagger
    if _tagger is None:
        _tagger = fugashi.Tagger()
    return _tagger


def _format_tagger(node_format):
    """A fugashi tagger printing every node with ``node_format`` (one per thread)."""
    taggers = getattr(_local, "taggers", None)
    if taggers is None:
        taggers = _local.taggers = {}
    tagger = taggers.get(node_format)
    if tagger is None:
        # -O "" drops unidic-lite's own output format so that ours applies.
        args = f'-O "" --node-format="{node_format}" --unk-format="{node_format}" --bos-format="" --eos-format=""'
        tagger = taggers[node_format] = fugashi.Tagger(args)
    return tagger


def _fold(word):
    """Lower-case Latin so that PC, pc and Pc are one word."""
    return word.lower() if word.isascii() else word


def _resource_lines(path):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.strip() and not line.lstrip().startswith("#"):
                yield line


def load_word_list(path):
    """Read a word list file: one word per line, ``#`` starts a comment line.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of str
        Normalised words (NFKC, Latin lower-cased), in file order.
    """
    return [_fold(normalize(line)) for line in _resource_lines(path)]


def load_synonyms(path):
    """Read a synonyms file: ``variant<TAB>canonical`` per line.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict of str to str
        Normalised variant to normalised canonical token.
    """
    synonyms = {}
    for line in _resource_lines(path):
        variant, _, canonical = line.partition("\t")
        if not canonical.strip():
            raise ValueError(f"{path}: expected 'variant<TAB>canonical', got {line!r}")
        synonyms[_fold(normalize(variant))] = _fold(normalize(canonical))
    return synonyms


def load_phrases(path):
    """Read a forced-phrases file (same format as :func:`load_word_list`).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of str
    """
    return load_word_list(path)


def _strip_gloss(lemma):
    """``パソコン-personal computer`` -> ``パソコン``; other lemmas unchanged."""
    cut = lemma.find("-")
    if cut > 0 and lemma[cut + 1 :].isascii():
        return lemma[:cut]
    return lemma


class _Resources:
    """Stop words, synonyms and phrases, plus the per-morpheme decision cache."""

    def __init__(self, stopwords, synonyms, phrases, keep_adverbs):
        self.stopwords = frozenset(stopwords)
        self.synonyms = synonyms
        self.keep_adverbs = keep_adverbs
        ordered = sorted(set(phrases), key=len, reverse=True)
        self.phrase_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        # Key-format line -> (kind, key, written form): what the token loop
        # needs, decided once per dictionary entry; and -> (kana, length,
        # leading whitespace), only read for readings and forced phrases.
        self.morphemes = {"": _EMPTY_ENTRY}
        self.details = {"": _EMPTY_DETAILS}
        # (joined keys, joined written forms) of a compound -> its token or None.
        self.compounds = {}

    def fill(self, text):
        """Classify every morpheme of ``text`` (parsed once more with full features)."""
        morphemes, details = self.morphemes, self.details
        if len(morphemes) > MORPHEME_CACHE_SIZE:
            morphemes.clear()
            details.clear()
            morphemes[""] = _EMPTY_ENTRY
            details[""] = _EMPTY_DETAILS
        for line in _format_tagger(_FULL_FORMAT).parse(text).split("\n"):
            if not line:
                continue
            key_line, feature = line.rsplit("\t", 1)
            surface_ws = key_line.rsplit("\t", 1)[0]
            surface = surface_ws.lstrip()
            kind, key, written, kana = self.classify(feature)
            if key is None and kind in _CHAINED:  # unknown word: its surface is its lemma
                written = surface
                key = _fold(surface)
            if kana is None:
                kana = to_katakana(surface)
            morphemes[key_line] = (kind, key, written)
            details[key_line] = (kana, len(surface_ws), len(surface_ws) - len(surface))

    def compound(self, key, written):
        """:meth:`canonical` of a re-joined compound, memoised."""
        pair = (key, written)
        token = self.compounds.get(pair, _MISSING)
        if token is _MISSING:
            if len(self.compounds) > MORPHEME_CACHE_SIZE:
                self.compounds.clear()
            token = self.compounds[pair] = self.canonical(key, written)
        return token

    def canonical(self, key, written):
        """Apply synonyms and stop words to a finished token; None if dropped."""
        stop = self.stopwords
        if key in stop or written in stop:
            return None
        synonyms = self.synonyms
        canonical = synonyms.get(key) or synonyms.get(_fold(written)) or key
        if canonical in stop:
            return None
        return canonical

    def classify(self, feature_raw):
        """Decide once what a morpheme contributes: (kind, key, written form, kana).

        ``kana`` is the reading as written (``ジテンシャ`` for 自転車 and じてんしゃ
        alike), a space for punctuation, None for unknown words (read from the
        surface instead).
        """
        kind, key, written = self._classify(feature_raw)
        fields = feature_raw.split(",", _KANA_FIELD + 1)
        if fields[0] in ("補助記号", "空白"):
            kana = " "
        elif len(fields) > _KANA_FIELD and fields[_KANA_FIELD] not in ("", "*"):
            kana = fields[_KANA_FIELD]
        else:
            kana = None
        return (kind, key, written, kana)

    def _classify(self, feature_raw):
        fields = feature_raw.split(",")
        pos1, pos2 = fields[0], fields[1]
        pos3 = fields[2] if len(fields) > 2 else "*"
        if pos1 in _FUNCTION_POS:
            return (_DROP, None, None)
        known = len(fields) > 10
        # Unknown words share their features: key and spelling come from the surface.
        lemma = _fold(_strip_gloss(fields[7])) if known else None
        written = fields[10] if known else None
        if pos1 == "名詞":
            if pos2 == "数詞":
                return (_NUMBER, None, None)
            if pos3 == "人名":
                return (_DROP, None, None)  # names of staff: noise and personal data
            if known and (lemma in self.stopwords or written in self.stopwords):
                return (_DROP, None, None)  # a stop noun also splits a compound
            if pos3 == "助数詞可能":
                return (_COUNTABLE_NOUN, lemma, written)
            return (_NOUN, lemma, written)
        if pos1 == "接頭辞":
            if lemma in _HONORIFIC_PREFIXES or written in _HONORIFIC_PREFIXES:
                return (_SKIP, None, None)
            return (_PREFIX, lemma, written)
        if pos1 == "接尾辞":
            if pos2 != "名詞的" or lemma in _HONORIFIC_SUFFIXES or written in _HONORIFIC_SUFFIXES:
                return (_DROP, None, None)
            if pos3 == "助数詞":
                return (_COUNTER, lemma, written)
            return (_SUFFIX, lemma, written)
        if not known:
            return (_DROP, None, None)
        if pos1 in ("動詞", "形容詞"):
            if pos2 == "非自立可能":  # する, ある, なる, いる, できる, くださる, ない...
                return (_DROP, None, None)
        elif pos1 == "形状詞":
            if pos2 == "助動詞語幹":
                return (_DROP, None, None)
        elif pos1 == "副詞":
            if not self.keep_adverbs:
                return (_DROP, None, None)
        else:
            return (_DROP, None, None)
        key = self.canonical(lemma, written)
        return (_WORD, key, written) if key else (_DROP, None, None)


def _tokens(entries, compound):
    """Content words of a run of classified morphemes: ``(keys, written forms)``.

    Nouns, prefixes and suffixes next to each other are joined into one
    compound (then passed through ``compound``: synonyms and stop words);
    numerals drop the counter after them.
    """
    keys, written_forms = [], []
    chain = []  # (kind, key, written) of the noun chain being built
    after_number = False
    for entry in entries:
        kind = entry[0]
        if kind <= _WORD:  # skip, drop or a standalone word
            if kind == _SKIP:
                continue
            after_number = False
            if chain:
                _flush(chain, compound, keys, written_forms)
                chain = []
            if kind == _WORD:
                keys.append(entry[1])
                written_forms.append(entry[2])
            continue
        if kind == _NUMBER:
            if chain:
                _flush(chain, compound, keys, written_forms)
                chain = []
            after_number = True
            continue
        if after_number:
            after_number = False
            if kind == _COUNTER or kind == _COUNTABLE_NOUN:
                continue
        chain.append(entry)  # noun, prefix, suffix, counter or countable noun
    if chain:
        _flush(chain, compound, keys, written_forms)
    return tuple(keys), tuple(written_forms)


def _flush(chain, compound, keys, written_forms):
    """Close a noun chain: trim dangling affixes, join, append the token."""
    if len(chain) == 1:
        kind, key, written = chain[0]
        if kind == _PREFIX or kind == _SUFFIX or kind == _COUNTER:
            return
        key = compound(key, written)
    else:
        # Suffixes (and counters) cannot start and prefixes cannot end a compound.
        start, end = 0, len(chain)
        while start < end and chain[start][0] in _SUFFIX_KINDS:
            start += 1
        while end > start and chain[end - 1][0] == _PREFIX:
            end -= 1
        if start == end:
            return
        if end - start == 1:
            _, key, written = chain[start]
        else:
            key = "".join([entry[1] for entry in chain[start:end]])
            written = "".join([entry[2] for entry in chain[start:end]])
        key = compound(key, written)
    if key:
        keys.append(key)
        written_forms.append(written)


class JapaneseTokenizer(TransformerMixin, BaseEstimator):
    """Content-word tokenizer for Japanese comments (fugashi + UniDic).

    Callable on one text, so it can serve as ``analyzer=`` of a scikit-learn
    vectorizer, and a transformer (``transform`` returns token lists) for a
    ``Pipeline``. Picklable and clonable: the fugashi tagger is created lazily
    and never pickled.

    Parameters
    ----------
    stopwords_file, synonyms_file, phrases_file : str or os.PathLike, optional
        Analyst files extending (or, with ``use_default_resources=False``,
        replacing) the defaults in ``analysis/data/``. Formats as in
        :func:`load_word_list` and :func:`load_synonyms`.
    use_default_resources : bool, default=True
        Load the shipped stop words, synonyms and phrases.
    keep_adverbs : bool, default=False
        Keep adverbs (ゆっくり, ちゃんと); most are noise in short comments.
    n_jobs : int, default=1
        Processes used by :meth:`transform` on large inputs; -1 for all cores.

    Attributes
    ----------
    surface_counts_ : collections.Counter
        ``(token, written form) -> count`` over every text tokenized so far
        (reset by :meth:`fit`).
    display_forms_ : dict
        Token -> the spelling people wrote most often.
    """

    def __init__(
        self,
        stopwords_file=None,
        synonyms_file=None,
        phrases_file=None,
        use_default_resources=True,
        keep_adverbs=False,
        n_jobs=1,
    ):
        self.stopwords_file = stopwords_file
        self.synonyms_file = synonyms_file
        self.phrases_file = phrases_file
        self.use_default_resources = use_default_resources
        self.keep_adverbs = keep_adverbs
        self.n_jobs = n_jobs

    # -- pickling: the fugashi Tagger cannot be pickled (polm/fugashi#54) --

    def __getstate__(self):
        self._counts()  # fold pending display-form counts into the Counter
        state = self.__dict__.copy()
        for transient in ("_tagger", "_text_cache", "_resources_cache", "_display_cache", "_pending_counts"):
            state.pop(transient, None)
        return state

    # -- resources --

    def _resource_key(self):
        return (
            self.stopwords_file,
            self.synonyms_file,
            self.phrases_file,
            self.use_default_resources,
            self.keep_adverbs,
        )

    def _resources(self):
        cached = getattr(self, "_resources_cache", None)
        if cached is not None and cached[0] == self._resource_key():
            return cached[1]
        stopwords, synonyms, phrases = [], {}, []
        if self.use_default_resources:
            stopwords += load_word_list(DEFAULT_STOPWORDS)
            synonyms.update(load_synonyms(DEFAULT_SYNONYMS))
            phrases += load_phrases(DEFAULT_PHRASES)
        if self.stopwords_file is not None:
            stopwords += load_word_list(self.stopwords_file)
        if self.synonyms_file is not None:
            synonyms.update(load_synonyms(self.synonyms_file))
        if self.phrases_file is not None:
            phrases += load_phrases(self.phrases_file)
        resources = _Resources(stopwords, synonyms, phrases, self.keep_adverbs)
        self._resources_cache = (self._resource_key(), resources)
        self._text_cache = {}
        return resources

    # -- core --

    def _tokenize_normalized(self, text, resources, parse=None, with_reading=True):
        """Tokens, their written forms and the kana reading of one normalised text.

        Each morpheme costs one dict hit: the cache of ``resources`` maps the
        line MeCab prints for it to what it contributes (see ``_KEY_FORMAT``).
        ``parse`` is this thread's key-format ``Tagger.parse`` (looked up when
        None). The reading is ``""`` when ``with_reading`` is false.
        """
        if not text:
            return (), (), ""
        if parse is None:
            parse = _format_tagger(_KEY_FORMAT).parse
        lines = parse(text).split("\n")
        try:
            entries = list(map(resources.morphemes.__getitem__, lines))
        except KeyError:
            resources.fill(text)
            entries = [resources.morphemes.get(line, _EMPTY_ENTRY) for line in lines]
        if resources.phrase_pattern is not None and resources.phrase_pattern.search(text):
            keys, written_forms = self._tokens_with_phrases(text, lines, entries, resources)
        else:
            keys, written_forms = _tokens(entries, resources.compound)
        if with_reading:
            details = resources.details
            reading = "".join([details.get(line, _EMPTY_DETAILS)[0] for line in lines])
        else:
            reading = ""
        return keys, written_forms, reading

    @staticmethod
    def _tokens_with_phrases(text, lines, entries, resources):
        """:func:`_tokens` for a text holding forced phrases: each phrase is one token."""
        spans = {m.start(): (m.end(), m.group()) for m in resources.phrase_pattern.finditer(text)}
        details = resources.details
        keys, written_forms = [], []
        pending = []  # entries between phrases
        position = 0
        phrase_end = None
        for line, entry in zip(lines, entries):
            _, length, space = details.get(line, _EMPTY_DETAILS)
            start = position + space
            position += length
            if phrase_end is not None:
                if position >= phrase_end:
                    phrase_end = None
                continue
            span = spans.get(start)
            if span is None:
                pending.append(entry)
                continue
            more_keys, more_written = _tokens(pending, resources.compound)
            keys += more_keys
            written_forms += more_written
            pending = []
            phrase_end, phrase = span
            key = resources.canonical(phrase, phrase)
            if key:
                keys.append(key)
                written_forms.append(phrase)
            if position >= phrase_end:
                phrase_end = None
        more_keys, more_written = _tokens(pending, resources.compound)
        return tuple(keys + list(more_keys)), tuple(written_forms + list(more_written))

    def reading(self, text):
        """Kana reading (katakana, spaces at punctuation) of a normalised text.

        Parameters
        ----------
        text : str

        Returns
        -------
        str
        """
        return self._tokenize_normalized(text, self._resources())[2]

    # -- display forms: counted lazily, only when someone asks for them --

    def _counts(self):
        counts = self.__dict__.get("_surface_counts")
        if counts is None:
            counts = self.__dict__["_surface_counts"] = collections.Counter()
        pending = self.__dict__.get("_pending_counts")
        if pending:
            for results, weights in pending:
                if weights is None:
                    for keys, written_forms in results:
                        counts.update(zip(keys, written_forms))
                else:
                    for (keys, written_forms), times in zip(results, weights):
                        for pair in zip(keys, written_forms):
                            counts[pair] += times
            pending.clear()
        return counts

    def _count_later(self, results, weights=None):
        """Remember ``(keys, written forms)`` pairs to count when display forms are needed."""
        self.__dict__.setdefault("_pending_counts", []).append((results, weights))
        self._display_cache = None

    @property
    def surface_counts_(self):
        """collections.Counter: ``(token, written form) -> count`` (see the class docstring)."""
        return self._counts()

    @surface_counts_.setter
    def surface_counts_(self, counts):
        self.__dict__.pop("_pending_counts", None)
        self.__dict__["_surface_counts"] = counts
        self._display_cache = None

    def __call__(self, text):
        """Tokenize one comment (the ``analyzer=`` interface).

        Parameters
        ----------
        text : str

        Returns
        -------
        list of str
        """
        normalized = normalize(text)
        resources = self._resources()
        cache = self._text_cache
        hit = cache.get(normalized)
        if hit is None:
            hit = self._tokenize_normalized(normalized, resources, with_reading=False)[:2]
            if len(cache) >= TEXT_CACHE_SIZE:
                cache.clear()
            cache[normalized] = hit
        self._count_later([hit])
        return list(hit[0])

    def _tokenize_many(self, texts, with_reading=True, normalized=True, seen=None):
        """Tokenize a slice of distinct texts (normalising them first unless ``normalized``).

        ``seen`` maps normalised texts to results already computed in this
        process, so that raw variants of one comment are tokenized once.
        """
        resources = self._resources()
        tokenize_one = self._tokenize_normalized
        parse = _format_tagger(_KEY_FORMAT).parse
        if normalized:
            return [tokenize_one(text, resources, parse, with_reading) for text in texts]
        if seen is None:
            seen = {}
        results = []
        for text in texts:
            norm = normalize(text)
            result = seen.get(norm)
            if result is None:
                result = seen[norm] = tokenize_one(norm, resources, parse, with_reading)
            results.append(result)
        return results

    def _tokenize_unique(self, texts, with_reading=True, normalized=True):
        """Tokenize distinct texts, in parallel when worth it.

        With ``n_jobs > 1``, this process and ``n_jobs - 1`` forked workers
        take chunks of texts from a shared counter until none are left, so
        that a slower process simply takes fewer chunks. This process
        tokenizes the first chunk before forking: workers inherit a warm
        tagger and morpheme cache, and the texts themselves, and send back
        one compact string per chunk. Texts are normalised where they are
        tokenized unless ``normalized``.
        """
        n_jobs = effective_n_jobs(self.n_jobs)
        self._resources()
        if not (n_jobs > 1 and len(texts) >= PARALLEL_MIN_TEXTS and can_fork()):
            return self._tokenize_many(texts, with_reading, normalized)
        global _worker_state
        context = multiprocessing.get_context("fork")
        chunks = [None] * -(-len(texts) // PARALLEL_CHUNK)
        seen = {}
        chunks[0] = self._tokenize_many(texts[:PARALLEL_CHUNK], with_reading, normalized, seen)
        next_chunk = context.Value("l", 1)
        _worker_state = (self, texts, with_reading, normalized, next_chunk)
        try:
            with concurrent.futures.ProcessPoolExecutor(max_workers=n_jobs - 1, mp_context=context) as pool:
                futures = [pool.submit(_tokenize_chunks) for _ in range(n_jobs - 1)]
                for index in _claim_chunks(next_chunk, len(chunks)):
                    start = index * PARALLEL_CHUNK
                    chunks[index] = self._tokenize_many(
                        texts[start : start + PARALLEL_CHUNK], with_reading, normalized, seen
                    )
                for future in futures:
                    for index, answer in future.result():
                        chunks[index] = _decode(answer)
        finally:
            _worker_state = None
        return [result for chunk in chunks for result in chunk]

    def analyze(self, texts, weights=None):
        """Tokens and kana reading of distinct, already normalised texts.

        The building block shared by the catalog and discovery: tokenize once,
        use twice. Display-form counts are updated (``weights`` = how many
        comments each text stands for, default 1).

        Parameters
        ----------
        texts : list of str
            Distinct outputs of :func:`analysis.text.normalize`.
        weights : list of int, optional

        Returns
        -------
        list of (tuple of str, str)
            ``(tokens, reading)`` per text; the reading is in katakana with
            spaces at punctuation.
        """
        texts = list(texts)
        results = self._tokenize_unique(texts)
        self._count_later([r[:2] for r in results], None if weights is None else list(weights))
        return [(keys, reading) for keys, _, reading in results]

    def transform(self, X):
        """Tokenize many comments; identical texts are tokenized once.

        Parameters
        ----------
        X : iterable of str
            Comments; ``None``/NaN are treated as empty.

        Returns
        -------
        list of list of str
            One token list per comment, in input order.
        """
        texts = [text if isinstance(text, str) else normalize(text) for text in X]
        multiplicity = collections.Counter(texts)
        unique = list(multiplicity)
        results = self._tokenize_unique(unique, with_reading=False, normalized=False)
        self._count_later([r[:2] for r in results], list(multiplicity.values()))
        tokens_of = {text: result[0] for text, result in zip(unique, results)}
        return [list(tokens_of[text]) for text in texts]

    def fit(self, X, y=None):
        """Learn the display form of each token from comments.

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Reset the display-form counts, learn them from ``X`` and tokenize it.

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        list of list of str
        """
        self.surface_counts_ = collections.Counter()
        return self.transform(X)

    @property
    def display_forms_(self):
        cached = getattr(self, "_display_cache", None)
        if cached is None:
            best = {}
            # Most frequent spelling wins; ties go to the shorter, then lexically first.
            for (token, written), count in self._counts().items():
                rank = (-count, len(written), written)
                if token not in best or rank < best[token][0]:
                    best[token] = (rank, written)
            cached = self._display_cache = {token: w for token, (_, w) in best.items()}
        return cached

    def display_form(self, token):
        """Return how people most often wrote ``token`` (the token itself if unseen).

        Parameters
        ----------
        token : str

        Returns
        -------
        str
        """
        return self.display_forms_.get(token, token)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


# (tokenizer, texts, with_reading, normalized, next chunk counter), set just
# before forking workers, which inherit it.
_worker_state = None


def _claim_chunks(next_chunk, n_chunks):
    """Yield chunk indices taken from the counter shared by all processes."""
    while True:
        with next_chunk.get_lock():
            index = next_chunk.value
            next_chunk.value = index + 1
        if index >= n_chunks:
            return
        yield index


def _tokenize_chunks():
    """Worker: tokenize chunks until none are left; answer ``[(index, compact string)]``."""
    tokenizer, texts, with_reading, normalized, next_chunk = _worker_state
    seen = {}
    answers = []
    for index in _claim_chunks(next_chunk, -(-len(texts) // PARALLEL_CHUNK)):
        start = index * PARALLEL_CHUNK
        results = tokenizer._tokenize_many(texts[start : start + PARALLEL_CHUNK], with_reading, normalized, seen)
        answers.append((index, _encode(results)))
    return answers


def _encode(results):
    """Results as one string: fewer, smaller objects to pickle than tuples of tuples."""
    return _TEXT_SEP.join(
        _TOKEN_SEP.join(keys) + _FIELD_SEP + _TOKEN_SEP.join(written_forms) + _FIELD_SEP + reading
        for keys, written_forms, reading in results
    )


def _decode(answer):
    """Inverse of :func:`_encode`."""
    results = []
    for part in answer.split(_TEXT_SEP):
        keys, written_forms, reading = part.split(_FIELD_SEP)
        results.append((tuple(keys.split(_TOKEN_SEP)) if keys else (),
                        tuple(written_forms.split(_TOKEN_SEP)) if written_forms else (), reading))
    return results


_default_tokenizer = None


def default_tokenizer():
    """Return the module-wide :class:`JapaneseTokenizer` used by :func:`tokenize`.

    Returns
    -------
    JapaneseTokenizer
    """
    global _default_tokenizer
    if _default_tokenizer is None:
        _default_tokenizer = JapaneseTokenizer()
    return _default_tokenizer


def tokenize(texts, n_jobs=1):
    """Tokenize comments into content-word tokens with the default resources.

    Parameters
    ----------
    texts : iterable of str
    n_jobs : int, default=1
        Processes to use for large inputs (-1 for all cores).

    Returns
    -------
    list of list of str
        One token list per comment.

    Examples
    --------
    >>> tokenize(["相談員の方が丁寧に対応してくださいました"])
    [['職員', '親切', '対応']]
    """
    tokenizer = default_tokenizer()
    tokenizer.n_jobs = n_jobs
    return tokenizer.transform(texts)
