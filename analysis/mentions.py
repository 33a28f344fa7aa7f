"""Mentions: every point a comment makes, as a theme with a polarity and a span.

「職員の方は親切でした。ただ、待ち時間が1時間を超える」 makes two points: praise
of the staff (T01, praise) and a request about waiting (T07, request). The
comment is split into clauses (:mod:`analysis.clauses`); a one-vs-rest
theme model scores the whole comment and each clause, and a theme is
mentioned when either score reaches the threshold; the clause that scores
the theme highest is the mention's span, and a polarity model reads that
clause (and, with a smaller share, the whole comment for its tone), so the
praise before 「ただ」 does not colour the request after it. Polarity features
are character n-grams, word vectors and a negation-aware sentiment lexicon
(:mod:`analysis.polarity_lexicon`).

Training data are comments with label lists (``T07:R;T01:P``, main point
first). Single-label data (a theme and no polarity) teach the theme model
only. Multi-point comments also teach it clause by clause: each of their
labels is placed on the clause a first model scores highest for it.
"""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from .clauses import content_spans
from .features import SeedWordCounter, Select, analyze_comments, words_and_pairs
from .polarity_lexicon import PolarityLexicon
from .word_vectors import WordVectorMean

__all__ = ["MentionClassifier", "parse_labels", "format_labels", "POLARITIES", "POLARITY_CODES"]

POLARITIES = ("praise", "request")
# Polarity letters of the label format: T07:R (request), T01:P (praise), T00:N (no content).
POLARITY_CODES = {"P": "praise", "R": "request"}
POLARITY_LETTERS = {name: letter for letter, name in POLARITY_CODES.items()}
NO_CONTENT_LABEL = "T00"
# A comment makes at most this many points (the dev data have 1-3).
MAX_MENTIONS = 4
# Settings chosen under 5-fold cross-validation on the dev sets (benchmarks/bench_mentions.py).
THEME_C = 10.0
POLARITY_C = 10.0
MENTION_THRESHOLD = 0.35
# Weight of the main-point classifier's probabilities when ranking a comment's mentions.
MAIN_EVIDENCE_WEIGHT = 1.0
# A comment with content nearly always makes some point: when neither model reaches its
# threshold, the mention model's best theme is still the main point from this score on
# (below it the comment stays out, for discovery).
MAIN_POINT_FLOOR = 0.15
CHAR_WEIGHT = 1.0
THEME_CHAR_NGRAMS = (1, 2)
SEED_WEIGHT = 0.5
MEANING_WEIGHT = 0.5
# Scale of the polarity lexicon's columns (see analysis.polarity_lexicon).
LEXICON_WEIGHT = 2.0
# A mention's request probability mixes its span's with the whole comment's by this share:
# the span says the point, the comment its tone (「検索機は空いてたけど、相談窓口は1時間待ち」).
POLARITY_CONTEXT = 0.25
# Scale of the sentence-vector block (analysis.encoder), when the model has an encoder. 5-fold CV,
# split seed 0 (benchmarks/bench_mentions.py --encoder): micro-F1 0.874 without, 0.877 / 0.893 /
# 0.905 at weight 1 / 2 / 3; main point 0.886 -> 0.893 / 0.911 / 0.923.
ENCODER_WEIGHT = 3.0


def parse_labels(value):
    """Parse ``"T07:R;T01:P"`` into ``[("T07", "request"), ("T01", "praise")]``.

    A bare code (``"T07"``, the single-label format) has polarity None;
    ``T00`` (no content) gives an empty list.

    Parameters
    ----------
    value : str

    Returns
    -------
    list of (str, str or None)

    Raises
    ------
    ValueError
        On a part that is not ``CODE`` or ``CODE:P|R|N``.
    """
    labels = []
    for part in str(value).replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code, _, letter = part.partition(":")
        code, letter = code.strip().upper(), letter.strip().upper()
        if not code or (letter and letter not in POLARITY_CODES and letter != "N"):
            raise ValueError(f"label {part!r} is not CODE or CODE:P, CODE:R, T00:N")
        if code == NO_CONTENT_LABEL:
            continue
        labels.append((code, POLARITY_CODES.get(letter)))
    return labels


def format_labels(mentions):
    """``[("T07", "request"), ("D01", "praise")]`` -> ``"T07:R;D01:P"`` (main point first)."""
    return ";".join(f"{code}:{POLARITY_LETTERS[polarity]}" if polarity else code for code, polarity in mentions)


def _with_encoder(blocks, weights, encoder):
    """The feature hook of a sentence encoder: one more block, its vectors of each text."""
    if encoder is not None:
        blocks.append(("sentence", encoder))
        weights["sentence"] = ENCODER_WEIGHT
    return FeatureUnion(blocks, transformer_weights=weights)


def _features(seed_words, tokenizer, encoder=None):
    options = dict(sublinear_tf=True, dtype=np.float32)
    return _with_encoder(
        [
            ("words", Select("comment", TfidfVectorizer(analyzer=words_and_pairs, **options))),
            ("chars", Select("text", TfidfVectorizer(analyzer="char", ngram_range=THEME_CHAR_NGRAMS, **options))),
            ("seeds", SeedWordCounter(seed_words, weight=SEED_WEIGHT, tokenizer=tokenizer)),
            ("meaning", Select("tokens", WordVectorMean(sparse_output=True))),
        ],
        {"chars": CHAR_WEIGHT, "meaning": MEANING_WEIGHT},
        encoder,
    )


def _polarity_features(encoder=None):
    # Characters carry polarity and its negation (親切 / 親切じゃない, 足りない, てほしい);
    # word vectors carry the sense of words seen nowhere in training.
    options = dict(sublinear_tf=True, dtype=np.float32)
    return _with_encoder(
        [
            ("chars", Select("text", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), **options))),
            ("meaning", Select("tokens", WordVectorMean(sparse_output=True))),
            ("lexicon", PolarityLexicon(weight=LEXICON_WEIGHT)),
        ],
        {"meaning": MEANING_WEIGHT},
        encoder,
    )


class MentionClassifier(BaseEstimator):
    """Find the themes a comment mentions, each with a polarity and a span.

    Parameters
    ----------
    codes : list of str
        Theme codes the model knows.
    seed_words : dict of str to list of str, optional
        Theme code -> seed words (see :class:`analysis.features.SeedWordCounter`).
    threshold : float, default=0.35
        Minimum theme probability, on the comment or on one of its clauses,
        for a mention.
    C, polarity_C : float, default=10.0
        Inverse regularisation of the theme and polarity logistic regressions.
    tokenizer : JapaneseTokenizer, optional
        Analyses clauses; default a new one.
    random_state : int or None, default=0
        Seeds liblinear's shuffling, so that the same data give the same model
        in every process (None: a different model, up to ~1e-6, each time).
    encoder : SentenceEncoder, optional
        Adds its sentence vectors of each comment and clause to the theme and
        polarity features (see :mod:`analysis.encoder`); used as given, not
        copied, so its cache is shared.

    Attributes
    ----------
    classes_ : ndarray of str
        Theme codes of the probability columns.
    """

    def __init__(self, codes=None, seed_words=None, threshold=MENTION_THRESHOLD, C=THEME_C,
                 polarity_C=POLARITY_C, tokenizer=None, random_state=0, encoder=None):
        self.codes = codes
        self.seed_words = seed_words
        self.threshold = threshold
        self.C = C
        self.polarity_C = polarity_C
        self.tokenizer = tokenizer
        self.random_state = random_state
        self.encoder = encoder

    def fit(self, analysed, labels):
        """Learn themes and polarity from labelled comments.

        Parameters
        ----------
        analysed : list of AnalysedComment
            Normalised comments with content (see :func:`analysis.features.analyze_comments`).
        labels : list of list of (str, str or None)
            Each comment's ``(code, polarity)`` labels, main point first
            (see :func:`parse_labels`); polarity None when unknown.

        Returns
        -------
        self
        """
        from .tokenizer import JapaneseTokenizer

        self.tokenizer_ = self.tokenizer if self.tokenizer is not None else JapaneseTokenizer()
        known = self.codes if self.codes is not None else sorted({c for row in labels for c, _ in row})
        self.classes_ = np.array(list(known), dtype=object)
        column = {code: i for i, code in enumerate(self.classes_)}
        self.features_ = _features(self.seed_words or {}, self.tokenizer_, self.encoder).fit(list(analysed))
        comment_matrix = self.features_.transform(list(analysed))
        targets = self._targets(labels, column)
        first = self._fit_themes(comment_matrix, targets)

        # Place each label of a multi-clause comment on the clause that says it most.
        clause_rows, clause_targets, polarity_rows, polarity_targets = [], [], [], []
        multi = [i for i, comment in enumerate(analysed) if labels[i] and len(content_spans(comment.text)) > 1]
        segments = self._segments([analysed[i] for i in multi])
        for i, comment in enumerate(analysed):
            polarities = {p for _, p in labels[i]}
            if labels[i] and len(polarities) == 1 and None not in polarities:
                polarity_rows.append(comment)
                polarity_targets.append(polarities.pop())
        flat = [piece for _, pieces in segments for piece in pieces]
        flat_proba = self._predict(first, self.features_.transform(flat)) if flat else None
        offset = 0
        for i, (spans, pieces) in zip(multi, segments):
            proba = flat_proba[offset : offset + len(pieces)]
            offset += len(pieces)
            placed = {}
            for code, polarity in labels[i]:
                if code in column:
                    placed.setdefault(int(proba[:, column[code]].argmax()), []).append((code, polarity))
            for piece, held in placed.items():
                clause_rows.append(pieces[piece])
                clause_targets.append([code for code, _ in held])
                held_polarities = {p for _, p in held}
                if len(held_polarities) == 1 and None not in held_polarities:
                    polarity_rows.append(pieces[piece])
                    polarity_targets.append(held_polarities.pop())
        if clause_rows:
            from scipy import sparse

            matrix = sparse.vstack([comment_matrix, self.features_.transform(clause_rows)]).tocsr()
            targets = np.vstack([targets, self._targets([[(c, None) for c in row] for row in clause_targets], column)])
            self.themes_ = self._fit_themes(matrix, targets)
        else:
            self.themes_ = first
        if len(set(polarity_targets)) < 2:
            # Without both polarities in the data, every mention gets the one seen (or praise).
            self.polarity_features_ = self.polarity_model_ = None
            self.default_polarity_ = polarity_targets[0] if polarity_targets else "praise"
        else:
            self.polarity_features_ = _polarity_features(self.encoder).fit(polarity_rows)
            self.polarity_model_ = LogisticRegression(C=self.polarity_C, solver="liblinear", dual=True, max_iter=1000,
                                                     random_state=self.random_state).fit(
                self.polarity_features_.transform(polarity_rows), polarity_targets
            )
            self.default_polarity_ = None
        return self

    @staticmethod
    def _targets(labels, column):
        targets = np.zeros((len(labels), len(column)), dtype=np.int8)
        for i, row in enumerate(labels):
            for code, _ in row:
                if code in column:
                    targets[i, column[code]] = 1
        return targets

    def _fit_themes(self, matrix, targets):
        """One binary logistic regression per theme, kept as one weight matrix and intercepts."""
        weights = np.zeros((matrix.shape[1], targets.shape[1]))
        intercepts = np.zeros(targets.shape[1])
        for j in range(targets.shape[1]):
            y = targets[:, j]
            if y.min() == y.max():  # a theme with no example (or only examples): a constant
                intercepts[j] = 30.0 if y[0] else -30.0
            else:
                model = LogisticRegression(C=self.C, solver="liblinear", dual=True, max_iter=1000,
                                           random_state=self.random_state).fit(matrix, y)
                weights[:, j], intercepts[j] = model.coef_[0], model.intercept_[0]
        return weights, intercepts

    @staticmethod
    def _predict(themes, matrix):
        weights, intercepts = themes
        return 1.0 / (1.0 + np.exp(-(np.asarray(matrix @ weights) + intercepts)))

    def _segments(self, analysed, spans=None, known=None):
        """Segment spans and analysed segments of each comment.

        Each distinct piece is analysed once, and not at all when ``known``
        (text -> analysed comment) already holds it.
        """
        spans = spans if spans is not None else [content_spans(comment.text) for comment in analysed]
        done = dict(known or {})
        pieces = [p for p in dict.fromkeys(c.text[s:e].strip() for c, row in zip(analysed, spans) for s, e in row)
                  if p not in done]
        if pieces:
            done.update(zip(pieces, analyze_comments(pieces, self.tokenizer_, count=False)))
        return [(row, [done[c.text[s:e].strip()] for s, e in row]) for c, row in zip(analysed, spans)]

    def predict_proba(self, analysed):
        """Theme probabilities of whole comments (columns in ``classes_`` order).

        Parameters
        ----------
        analysed : list of AnalysedComment

        Returns
        -------
        ndarray of shape (n_comments, n_themes)
        """
        return self._predict(self.themes_, self.features_.transform(list(analysed)))

    def polarity(self, analysed):
        """``praise`` or ``request`` for each analysed text (a clause or a comment)."""
        if self.polarity_model_ is None:
            return np.array([self.default_polarity_] * len(analysed), dtype=object)
        return self.polarity_model_.predict(self.polarity_features_.transform(list(analysed)))

    def _request_proba(self, analysed):
        column = list(self.polarity_model_.classes_).index("request")
        return self.polarity_model_.predict_proba(self.polarity_features_.transform(list(analysed)))[:, column]

    def predict_mentions(self, analysed, main_evidence=None, main_threshold=0.5):
        """The mentions of each comment, main point first.

        Parameters
        ----------
        analysed : list of AnalysedComment
            Distinct normalised comments with content.
        main_evidence : callable, optional
            ``main_evidence(indices)`` -> array of shape (len(indices),
            n_themes): extra evidence for the main point of those comments
            (e.g. a single-label classifier's probabilities, columns in
            ``classes_`` order), added to their theme probabilities when
            ranking. Asked only for comments with no mention or several.
        main_threshold : float, default=0.5
            The best theme of the evidence becomes a mention when it reaches
            this value (a comment with content nearly always makes some
            point; one of a theme the catalog does not know stays out, for
            discovery).

        Returns
        -------
        list of list of tuple
            Per comment, ``(code, polarity, score, span_start, span_end)``
            with offsets into the comment's normalised text; empty when no
            theme reaches the threshold.
        """
        analysed = list(analysed)
        if not analysed:
            return []
        whole = self.predict_proba(analysed)
        spans_of = [content_spans(comment.text) for comment in analysed]
        multi = [i for i, spans in enumerate(spans_of) if len(spans) > 1]
        # Clauses repeat across comments (「駐車場が狭い」) and are often comments of their own:
        # each text is analysed and scored once (rows of `whole`, then the new clauses).
        row_of = {comment.text: i for i, comment in enumerate(analysed)}
        segments = dict(zip(multi, self._segments([analysed[i] for i in multi], [spans_of[i] for i in multi],
                                                  known={c.text: c for c in analysed})))
        new = {piece.text: piece for i in multi for piece in segments[i][1] if piece.text not in row_of}
        row_of.update((text, len(analysed) + k) for k, text in enumerate(new))
        piece_proba = (np.vstack([whole, self._predict(self.themes_, self.features_.transform(list(new.values())))])
                       if new else whole)
        # First the themes each comment may mention; the main-point evidence is asked only for
        # comments where it decides something: none found yet, or several to rank.
        candidates = []
        for i, comment in enumerate(analysed):
            if i in segments:
                spans, pieces = segments[i]
                proba = piece_proba[[row_of[piece.text] for piece in pieces]]
                score = np.maximum(whole[i], proba.max(axis=0))
            else:  # one clause with content (or none): the comment speaks through it
                spans, pieces, proba, score = spans_of[i][:1] or [(0, len(comment.text))], [comment], None, whole[i]
            chosen = [j for j in np.argsort(-score) if score[j] >= self.threshold][:MAX_MENTIONS]
            candidates.append((spans, pieces, proba, score, chosen))
        undecided = [i for i, c in enumerate(candidates) if len(c[4]) != 1]
        evidence = dict(zip(undecided, main_evidence(undecided))) if main_evidence is not None and undecided else {}
        # Which clause carries each mention, and its polarity (computed once per clause).
        results, wanted, plans = [], {}, []
        for i, (spans, pieces, proba, score, chosen) in enumerate(candidates):
            ranking = whole[i]
            if i in evidence:
                ranking = ranking + MAIN_EVIDENCE_WEIGHT * evidence[i]
                best = int(np.argmax(evidence[i]))
                if evidence[i][best] >= main_threshold and best not in chosen:
                    chosen = [best, *chosen][:MAX_MENTIONS]
            if not chosen and score.max() >= MAIN_POINT_FLOOR:
                chosen = [int(np.argmax(score))]
            plan = []
            for j in chosen:
                k = int(proba[:, j].argmax()) if proba is not None else 0
                plan.append((j, float(score[j]), spans[k], pieces[k]))
                wanted.setdefault(pieces[k].text, pieces[k])
            plan.sort(key=lambda p: -ranking[p[0]])
            plans.append(plan)
        if self.polarity_model_ is None:
            for plan in plans:
                results.append([(str(self.classes_[j]), self.default_polarity_, score, start, end)
                                for j, score, (start, end), piece in plan])
            return results
        for i in range(len(analysed)):
            if plans[i]:
                wanted.setdefault(analysed[i].text, analysed[i])  # most are one clause: already there
        request_of = dict(zip(wanted, self._request_proba(list(wanted.values())))) if wanted else {}
        for comment, plan in zip(analysed, plans):
            row = []
            for j, score, (start, end), piece in plan:
                p = (1 - POLARITY_CONTEXT) * request_of[piece.text] + POLARITY_CONTEXT * request_of[comment.text]
                row.append((str(self.classes_[j]), "request" if p >= 0.5 else "praise", score, start, end))
            results.append(row)
        return results
