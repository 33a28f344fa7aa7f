"""Theme every comment: known themes from the catalog, new ones by discovery."""

import collections

import numpy as np
import pandas as pd

from .catalog import ThemeCatalog, analyze_comments
from .nocomment import is_no_comment
from .text import normalize
from .themes import ThemeDiscovery
from .tokenizer import JapaneseTokenizer

__all__ = ["assign_themes"]

# Discovery on fewer distinct comments than this finds noise, not themes.
MIN_COMMENTS_FOR_DISCOVERY = 10
# Distinct left-over comments clustered when a catalog took the known themes
# (the others join the nearest discovered theme): enough to surface new
# themes, and it bounds the time discovery adds to large surveys.
LEFTOVER_SAMPLE_SIZE = 400


def assign_themes(texts, catalog=None, n_themes="auto", random_state=0, n_jobs=1):
    """Assign each comment to a catalog theme, a discovered theme or none.

    Comments the catalog classifies confidently get its code (``T01``...);
    the rest are clustered by :class:`ThemeDiscovery` into ``D01``, ``D02``...
    so that themes the catalog does not know yet surface; no-comment answers
    get no theme. Each distinct comment is normalised and tokenized once and
    the tokens are shared by the catalog and discovery.

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
        Processes used to tokenize large inputs.

    Returns
    -------
    assignments : pandas.DataFrame
        One row per input comment: ``comment``, ``theme_id``, ``theme_label``,
        ``score``, ``source`` (``"catalog"``, ``"discovery"``, ``"no_comment"``,
        or ``"unassigned"`` when too few comments are left for discovery).
    themes : pandas.DataFrame
        One row per theme used: ``theme_id``, ``label``, ``source``, ``size``,
        ``representatives``, ``words`` (a discovered theme's distinctive words).
    """
    texts = list(texts)
    if catalog is False:
        catalog = None
    elif catalog is None:
        catalog = ThemeCatalog.load()
    elif not isinstance(catalog, ThemeCatalog):
        catalog = ThemeCatalog.load(catalog)

    # Normalise each distinct raw answer once, then work on distinct normalised texts.
    normalized_of = {}
    normalized = []
    for text in texts:
        key = text if isinstance(text, str) else repr(text)
        norm = normalized_of.get(key)
        if norm is None:
            norm = normalized_of[key] = normalize(text)
        normalized.append(norm)
    multiplicity = collections.Counter(normalized)
    content = [t for t in multiplicity if not is_no_comment(t)]
    tokenizer = JapaneseTokenizer(n_jobs=n_jobs)
    analysed = dict(zip(content, analyze_comments(content, tokenizer, [multiplicity[t] for t in content])))

    code_of, score_of = {}, {}
    if catalog is not None and content:
        proba = catalog.predict_proba([analysed[t] for t in content], n_jobs=n_jobs)
        best = proba.argmax(axis=1)
        for text, column, value in zip(content, best, proba.max(axis=1)):
            score_of[text] = value
            if value >= catalog.threshold:
                code_of[text] = catalog.classes_[column]
    names = catalog.names if catalog is not None else {}

    n = len(texts)
    theme_id = np.array([code_of.get(t) for t in normalized], dtype=object)
    theme_label = np.array([names.get(c) if c is not None else None for c in theme_id], dtype=object)
    score = np.array([score_of.get(t, np.nan) for t in normalized], dtype=float)
    is_content = np.array([t in analysed for t in normalized], dtype=bool)
    source = np.where(is_content, "catalog", "no_comment").astype(object)

    leftover = np.flatnonzero(is_content & pd.isna(theme_id))
    leftover_texts = {normalized[i] for i in leftover}
    discovered = None
    # Without a catalog, discovery is all there is: any three distinct comments will do.
    min_comments = MIN_COMMENTS_FOR_DISCOVERY if catalog is not None else 3
    if len(leftover_texts) >= min_comments:
        sample_size = LEFTOVER_SAMPLE_SIZE if catalog is not None else ThemeDiscovery().sample_size
        discovered = ThemeDiscovery(n_themes=n_themes, sample_size=sample_size, random_state=random_state,
                                    n_jobs=n_jobs)
        discovered._fit_normalized(
            [texts[i] for i in leftover], [normalized[i] for i in leftover],
            tokens_of={t: analysed[t].tokens for t in leftover_texts}, tokenizer=tokenizer,
        )
        labels = discovered.labels_
        theme_names = dict(zip(discovered.themes_["theme"], discovered.themes_["label"]))
        for row, label, theme_score in zip(leftover, labels, discovered.scores_):
            if label >= 0:
                theme_id[row] = f"D{label + 1:02d}"
                theme_label[row] = theme_names[label]
                score[row] = theme_score
                source[row] = "discovery"
    for row in leftover:
        if source[row] == "catalog":  # left over and not discovered either
            source[row] = "unassigned"
    if catalog is None:
        score[leftover[source[leftover] == "unassigned"]] = np.nan

    assignments = pd.DataFrame(
        {
            "comment": texts,
            "theme_id": pd.Series(theme_id, dtype=object),
            "theme_label": pd.Series(theme_label, dtype=object),
            "score": score,
            "source": pd.Series(source, dtype=object),
        },
        index=pd.RangeIndex(n),
    )
    return assignments, _summarise(assignments, catalog, discovered)


def _summarise(assignments, catalog, discovered):
    rows = []
    themed = assignments[assignments["theme_id"].notna()]
    for code, name in (catalog.names if catalog is not None else {}).items():
        members = themed[themed["theme_id"] == code].sort_values("score", ascending=False, kind="stable")
        if len(members):
            representatives = list(dict.fromkeys(members["comment"].astype(str)))[:5]
            rows.append(
                {"theme_id": code, "label": name, "source": "catalog", "size": len(members),
                 "representatives": representatives, "words": []}
            )
    if discovered is not None:
        for theme in discovered.themes_.itertuples():
            rows.append(
                {
                    "theme_id": f"D{theme.theme + 1:02d}",
                    "label": theme.label,
                    "source": "discovery",
                    "size": int(theme.size),
                    "representatives": list(theme.representatives),
                    "words": list(theme.top_words),
                }
            )
    return pd.DataFrame(rows, columns=["theme_id", "label", "source", "size", "representatives", "words"])
