"""Theme every comment: known themes from the catalog, new ones by discovery."""

import collections
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import centroids as theme_centroids
from .catalog import ThemeCatalog, analyze_comments
from .mentions import format_labels
from .nocomment import is_no_comment
from .text import normalize
from .themes import ThemeDiscovery
from .tokenizer import JapaneseTokenizer

__all__ = ["assign_themes", "ThemeResult", "UNCLASSIFIED_LABEL", "MENTION_COLUMNS"]

# Content that no theme covers yet: shown with its count and examples, never dropped.
UNCLASSIFIED_LABEL = "未分類"

# Discovery on fewer distinct comments than this finds noise, not themes.
MIN_COMMENTS_FOR_DISCOVERY = 10
# Distinct left-over comments clustered when a catalog took the known themes
# (the others join the nearest discovered theme): enough to surface new
# themes, and it bounds the time discovery adds to large surveys.
LEFTOVER_SAMPLE_SIZE = 400
# A discovered group is a catalog theme when this share of its members has that theme as their
# best one, at this mean probability.
KNOWN_GROUP_AGREEMENT = 0.6
KNOWN_GROUP_CONFIDENCE = 0.45
# Distinct comments analysed and classified between two progress reports.
PROGRESS_BLOCK = 20_000


class ThemeResult(NamedTuple):
    """What :func:`assign_themes` returns: per comment, per theme, per mention."""

    assignments: pd.DataFrame
    themes: pd.DataFrame
    mentions: pd.DataFrame


MENTION_COLUMNS = ["row", "theme_id", "polarity", "score", "span_start", "span_end", "rank"]


def assign_themes(texts, catalog=None, n_themes="auto", random_state=0, n_jobs=1, discover=True, encoder="auto",
                  vector_cache=None, weights=None, progress=None, known_themes=None):
    """Find every point each comment makes: catalog themes, discovered ones, or 未分類.

    Each comment with content yields mentions of catalog themes (``T01``...)
    with a polarity (``praise`` / ``request``) and the span that says it
    (see :class:`analysis.mentions.MentionClassifier`). Comments with no
    catalog mention are clustered by :class:`ThemeDiscovery` into ``D01``,
    ``D02``... so that themes the catalog does not know yet surface; what
    neither covers is ``unclassified`` (未分類), never dropped. No-comment
    answers have no mention. Each distinct comment is normalised and
    tokenized once and the tokens are shared by the catalog and discovery.

    Parameters
    ----------
    texts : iterable of str
    catalog : ThemeCatalog, str, os.PathLike, None or False
        A catalog, a path to one, None for the shipped default catalog, or
        False for no catalog: every comment with content goes to discovery.
    n_themes : int or "auto", default="auto"
        Number of discovered themes.
    random_state : int, default=0
    n_jobs : int, default=1
        Processes used to tokenize and classify large inputs.
    discover : bool, default=True
        Cluster what the catalog leaves; False leaves it unclassified.
    encoder : {"auto", "on", "off"}, default="auto"
        Read comments with sentence vectors too (see :meth:`ThemeCatalog.mentions`):
        ``auto`` reads a few hundred comments whole with them and, of a large
        survey, those the fast model is least sure of; it decides on all the
        distinct comments, not on a block of them.
    vector_cache : cache, optional
        Sentence vectors of earlier runs (:class:`analysis.store.DatabaseVectorCache`).
    weights : list of int, optional
        How many answers each text stands for (default 1 each): the distinct comments of a
        large survey with their counts give the same themes, sizes and labels as every
        answer, in the memory of the distinct comments.
    progress : callable, optional
        Called with the number of distinct comments with content analysed, after each block
        of ``PROGRESS_BLOCK``.
    known_themes : dict, optional
        ``{code: {"label": str, "centroid": dict}}``: discovered themes of an earlier run
        (see :mod:`analysis.centroids`). What the catalog leaves joins the nearest of them
        instead of being clustered again; without any, it is unclassified.

    Returns
    -------
    ThemeResult
        ``assignments``: one row per input comment (index = input row):
        ``comment``, ``theme_id`` / ``theme_label`` / ``score`` of its main
        point, ``source`` (``"catalog"``, ``"discovery"``, ``"no_comment"``
        or ``"unclassified"``), ``mentions`` (``"T07:R;T01:P"``, main point
        first). ``themes``: one row per theme used: ``theme_id``, ``label``,
        ``source``, ``size`` (comments mentioning it), ``praise``,
        ``request``, ``representatives`` (input rows), ``words``,
        ``centroid`` (discovered themes: see :func:`analysis.centroids.centroids`).
        ``mentions``: one row per mention: ``row`` (input row),
        ``theme_id``, ``polarity``, ``score``, ``span_start``/``span_end``
        (offsets into the normalised comment), ``rank`` (0 = main point).
    """
    texts = list(texts)
    if catalog is False:
        catalog = None
    elif catalog is None:
        catalog = ThemeCatalog.load()
    elif not isinstance(catalog, ThemeCatalog):
        catalog = ThemeCatalog.load(catalog)

    weights = [1] * len(texts) if weights is None else [int(w) for w in weights]
    if len(weights) != len(texts):
        raise ValueError(f"{len(weights)} weights for {len(texts)} texts")
    # Normalise each distinct raw answer once, then work on distinct normalised texts.
    normalized_of = {}
    normalized = []
    multiplicity = collections.Counter()
    for text, weight in zip(texts, weights):
        key = text if isinstance(text, str) else repr(text)
        norm = normalized_of.get(key)
        if norm is None:
            norm = normalized_of[key] = normalize(text)
        normalized.append(norm)
        multiplicity[norm] += weight
    content = [t for t in multiplicity if not is_no_comment(t)]
    tokenizer = JapaneseTokenizer(n_jobs=n_jobs)
    # Mentions of each distinct text: (code, polarity, score, span_start, span_end).
    # Display-form counts add up across blocks, so blocks give what one call would. The
    # encoder's "auto" decides on the whole set, and its budget is the whole set's: it reads
    # a few thousand comments at most, in one block.
    if catalog is not None:
        encoder = catalog.encoder_for(encoder, len(content))
    block_size = PROGRESS_BLOCK if isinstance(encoder, str) and encoder in ("off", "on") else max(len(content), 1)
    analysed, found = {}, {}
    for start in range(0, len(content), block_size):
        block = content[start:start + block_size]
        analysed.update(zip(block, analyze_comments(block, tokenizer, [multiplicity[t] for t in block])))
        if catalog is not None:
            found.update(zip(block, catalog.mentions([analysed[t] for t in block], n_jobs=n_jobs,
                                                     encoder=encoder, vector_cache=vector_cache)))
        if progress is not None:
            progress(len(block))
    names = dict(catalog.names) if catalog is not None else {}

    leftover = [t for t in content if not found.get(t)]
    discovered = None
    centroids = {}
    # Without a catalog, discovery is all there is: any three distinct comments will do.
    min_comments = MIN_COMMENTS_FOR_DISCOVERY if catalog is not None else 3
    if known_themes is not None:
        codes, scores = theme_centroids.nearest(
            leftover, {code: theme.get("centroid") for code, theme in known_themes.items()})
        placed = {text: (code, known_themes[code].get("label") or code, float(score))
                  for text, code, score in zip(leftover, codes, scores) if code is not None}
        _place(placed, found, names, catalog, analysed)
    elif discover and len(leftover) >= min_comments:
        leftover_set = set(leftover)
        rows = [i for i, t in enumerate(normalized) if t in leftover_set]
        sample_size = LEFTOVER_SAMPLE_SIZE if catalog is not None else ThemeDiscovery().sample_size
        discovered = ThemeDiscovery(n_themes=n_themes, sample_size=sample_size, random_state=random_state,
                                    n_jobs=n_jobs)
        discovered._fit_normalized(
            [texts[i] for i in rows], [normalized[i] for i in rows],
            tokens_of={t: analysed[t].tokens for t in leftover}, tokenizer=tokenizer,
            weights=[weights[i] for i in rows],
        )
        theme_names = dict(zip(discovered.themes_["theme"], discovered.themes_["label"]))
        placed = {}
        for i, label, theme_score in zip(rows, discovered.labels_, discovered.scores_):
            if label >= 0:
                placed.setdefault(normalized[i], (f"D{label + 1:02d}", theme_names[label], float(theme_score)))
        if catalog is not None:
            placed = _known_groups_to_catalog(placed, catalog, analysed)
        _place(placed, found, names, catalog, analysed)
        # Where later answers will look for these themes (incremental runs).
        still_discovered = [(text, code) for text, (code, _, _) in placed.items()
                            if catalog is None or code not in catalog.codes]
        if still_discovered:
            centroids = theme_centroids.centroids([t for t, _ in still_discovered],
                                                  [c for _, c in still_discovered],
                                                  [multiplicity[t] for t, _ in still_discovered])

    return _results(texts, normalized, weights, analysed, found, names, catalog, discovered, centroids)


def _place(placed, found, names, catalog, analysed):
    """Record the one mention of each comment placed in a discovered theme as a whole."""
    polarity = _polarity(catalog, [analysed[t] for t in placed])
    for (text, (code, label, theme_score)), sense in zip(placed.items(), polarity):
        found[text] = [(code, sense, theme_score, 0, len(text))]
        names[code] = label


def _known_groups_to_catalog(placed, catalog, analysed):
    """Give a discovered group whose members the catalog, together, places in one theme that theme.

    Each member alone fell short of the catalog's thresholds, but a group that mostly leans
    the same way (「職員をもっと配置してほしい」 and its variants -> 相談員の増員) is not new.
    """
    members = {}
    for text, (code, _label, _score) in placed.items():
        members.setdefault(code, []).append(text)
    texts = list(placed)
    proba = catalog.classifier_.predict_proba([analysed[t] for t in texts])
    row_of = {text: k for k, text in enumerate(texts)}
    for code, group in members.items():
        group_proba = proba[[row_of[t] for t in group]]
        best = group_proba.argmax(axis=1)
        theme = int(np.bincount(best, minlength=proba.shape[1]).argmax())
        if (best == theme).mean() >= KNOWN_GROUP_AGREEMENT and group_proba[:, theme].mean() >= KNOWN_GROUP_CONFIDENCE:
            known = str(catalog.classes_[theme])
            for text, p in zip(group, group_proba[:, theme]):
                placed[text] = (known, catalog.names.get(known, known), float(p))
    return placed


def _polarity(catalog, analysed):
    """Polarity of whole comments by the catalog's polarity model (praise without a catalog)."""
    if catalog is None or not analysed:
        return ["praise"] * len(analysed)
    return list(catalog.mention_classifier_.polarity(analysed))


def _results(texts, normalized, weights, analysed, found, names, catalog, discovered, centroids):
    n = len(texts)
    theme_id = np.full(n, None, dtype=object)
    theme_label = np.full(n, None, dtype=object)
    score = np.full(n, np.nan)
    source = np.full(n, "no_comment", dtype=object)
    labels = np.full(n, "", dtype=object)
    mention_rows = []
    for row, text in enumerate(normalized):
        if text not in analysed:
            continue
        points = found.get(text)
        if not points:
            source[row] = "unclassified"
            continue
        code, _, main_score, _, _ = points[0]
        theme_id[row], theme_label[row], score[row] = code, names.get(code), main_score
        source[row] = "discovery" if code.startswith("D") and code not in (catalog.codes if catalog else []) \
            else "catalog"
        labels[row] = format_labels([(c, p) for c, p, *_ in points])
        for rank, (c, p, s, start, end) in enumerate(points):
            mention_rows.append((row, c, p, s, start, end, rank))
    assignments = pd.DataFrame(
        {
            "comment": texts,
            # object dtype keeps None (pandas 3 would infer a string column with NaN)
            "theme_id": pd.Series(theme_id, dtype=object),
            "theme_label": pd.Series(theme_label, dtype=object),
            "score": score,
            "source": pd.Series(source, dtype=object),
            "mentions": pd.Series(labels, dtype=object),
        },
        index=pd.RangeIndex(n),
    )
    mentions = pd.DataFrame(mention_rows, columns=MENTION_COLUMNS)
    mentions = mentions.astype({"row": int, "span_start": int, "span_end": int, "rank": int, "score": float})
    summary = _summarise(assignments, mentions, np.asarray(weights, dtype=np.int64), names, catalog,
                         discovered, centroids)
    return ThemeResult(assignments, summary, mentions)


def _summarise(assignments, mentions, weights, names, catalog, discovered, centroids):
    """One row per theme mentioned, catalog themes in catalog order, then discovered ones."""
    words = {}
    if discovered is not None:
        words = {f"D{t.theme + 1:02d}": list(t.top_words) for t in discovered.themes_.itertuples()}
    catalog_codes = catalog.codes if catalog is not None else []
    order = [c for c in catalog_codes] + sorted(c for c in mentions["theme_id"].unique() if c not in catalog_codes)
    rows = []
    for code in order:
        members = mentions[mentions["theme_id"] == code]
        if not len(members):
            continue
        # Representatives: the comments that make this point most clearly, main points first.
        ranked = members.sort_values(["rank", "score"], ascending=[True, False], kind="stable")
        seen, representatives = set(), []
        for row in ranked["row"]:
            text = assignments.at[row, "comment"]
            if text not in seen:
                seen.add(text)
                representatives.append(int(row))
            if len(representatives) == 5:
                break
        # A comment mentions a theme at most once, so each mention row is one input row.
        member_weights = weights[members["row"].to_numpy()]
        rows.append({
            "theme_id": code, "label": names.get(code, code),
            "source": "catalog" if code in catalog_codes else "discovery",
            "size": int(member_weights.sum()),
            "praise": int(member_weights[(members["polarity"] == "praise").to_numpy()].sum()),
            "request": int(member_weights[(members["polarity"] == "request").to_numpy()].sum()),
            "representatives": representatives, "words": words.get(code, []),
            "centroid": centroids.get(code),
        })
    unclassified = np.flatnonzero((assignments["source"] == "unclassified").to_numpy())
    if len(unclassified):
        rows.append({"theme_id": None, "label": UNCLASSIFIED_LABEL, "source": "unclassified",
                     "size": int(weights[unclassified].sum()), "praise": 0, "request": 0,
                     "representatives": [int(r) for r in unclassified[:5]], "words": [],
                     "centroid": None})
    return pd.DataFrame(rows, columns=["theme_id", "label", "source", "size", "praise", "request",
                                       "representatives", "words", "centroid"])
