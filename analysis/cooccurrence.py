"""Word frequencies, word co-occurrence and catalog edits for the analyst notebooks.

The tables KH Coder users expect from Japanese text mining: how often each word is used
(頻出語) and which words appear in the same comments (共起ネットワーク, Jaccard coefficient).
Tokens come from :class:`analysis.tokenizer.JapaneseTokenizer` (lemmas); words are shown in
the spelling people wrote through the tokenizer's ``display_form``.

Also :func:`edit_catalog`, which renames and adds catalog themes (e.g. promoting a
discovered theme) and returns a new :class:`~analysis.catalog.ThemeCatalog` that
``survey-analysis themes --catalog PATH`` loads back once saved.

Pure functions: lists or DataFrames in, DataFrames out, no I/O. :func:`cooccurrence_graph`
needs ``networkx`` (the ``notebooks`` extra), imported only when called.
"""
from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from .catalog import ThemeCatalog

__all__ = [
    "MAX_PROMOTED_EXAMPLES",
    "cooccurrence_graph",
    "cooccurrence_table",
    "edit_catalog",
    "word_frequencies",
]

# Examples taken from a discovered theme when it is promoted into the catalog.
MAX_PROMOTED_EXAMPLES = 50
_THEME_KEYS = ("code", "name", "description", "seed_words", "examples")


def _documents(token_lists: Iterable[Iterable[str]]) -> list[list[str]]:
    return [list(tokens) for tokens in token_lists]


def word_frequencies(token_lists, display: Callable[[str], str] | Mapping | None = None,
                     min_count=1):
    """Count how often each word occurs, and in how many comments.

    Parameters
    ----------
    token_lists : iterable of list of str
        One token list per comment, e.g. ``JapaneseTokenizer().fit_transform(comments)``.
    display : callable or mapping, optional
        Token -> shown spelling (e.g. ``tokenizer.display_form``); the token itself if omitted.
    min_count : int, default 1
        Drop words occurring fewer times than this.

    Returns
    -------
    pandas.DataFrame
        ``word`` (token), ``display``, ``count`` (occurrences), ``documents`` (comments using
        the word) and ``document_share`` (documents / comments), sorted by count descending,
        then word.

    Examples
    --------
    >>> word_frequencies([["待ち時間", "長い"], ["待ち時間"]])[["word", "count", "documents"]]
           word  count  documents
    0  待ち時間      2          2
    1      長い      1          1
    """
    documents = _documents(token_lists)
    counts = collections.Counter(itertools.chain.from_iterable(documents))
    document_counts = collections.Counter(itertools.chain.from_iterable(set(d) for d in documents))
    show = _display_function(display)
    rows = [{"word": word, "display": show(word), "count": count,
             "documents": document_counts[word]}
            for word, count in counts.items() if count >= min_count]
    frame = pd.DataFrame(rows, columns=["word", "display", "count", "documents"])
    frame["document_share"] = frame["documents"] / len(documents) if documents else 0.0
    frame = frame.sort_values(["count", "word"], ascending=[False, True]).reset_index(drop=True)
    for column in ("count", "documents"):
        frame[column] = frame[column].astype("int64")
    return frame


def _display_function(display):
    if display is None:
        return lambda word: word
    if isinstance(display, Mapping):
        return lambda word: display.get(word, word)
    return display


def cooccurrence_table(token_lists, max_words=60, min_documents=2, top_edges=60,
                       display=None):
    """Pairs of words used in the same comments, with their Jaccard coefficient.

    As in KH Coder's co-occurrence network: words are the `max_words` used by the most
    comments (at least `min_documents` each); two words are linked by the Jaccard coefficient
    of the sets of comments using them, and only the `top_edges` strongest links are kept.

    Parameters
    ----------
    token_lists : iterable of list of str
        One token list per comment.
    max_words : int, default 60
        Words considered, by decreasing document frequency (ties: alphabetical).
    min_documents : int, default 2
        A word must occur in at least this many comments; a pair must co-occur in at least
        this many comments too.
    top_edges : int or None, default 60
        Keep the strongest links only; None keeps every pair.
    display : callable or mapping, optional
        Token -> shown spelling.

    Returns
    -------
    pandas.DataFrame
        ``word_a``, ``word_b`` (tokens, ``word_a < word_b``), ``display_a``, ``display_b``,
        ``documents`` (comments using both), ``documents_a``, ``documents_b`` and ``jaccard``
        (documents / comments using either), sorted by jaccard, then documents, descending.
    """
    documents = [set(d) for d in _documents(token_lists)]
    frequency = collections.Counter(itertools.chain.from_iterable(documents))
    candidates = sorted((w for w, n in frequency.items() if n >= min_documents),
                        key=lambda w: (-frequency[w], w))[:max_words]
    kept = set(candidates)
    pairs = collections.Counter()
    for words in documents:
        present = sorted(words & kept)
        pairs.update(itertools.combinations(present, 2))
    show = _display_function(display)
    rows = []
    for (a, b), together in pairs.items():
        if together < min_documents:
            continue
        either = frequency[a] + frequency[b] - together
        rows.append({"word_a": a, "word_b": b, "display_a": show(a), "display_b": show(b),
                     "documents": together, "documents_a": frequency[a],
                     "documents_b": frequency[b], "jaccard": together / either})
    columns = ["word_a", "word_b", "display_a", "display_b", "documents", "documents_a",
               "documents_b", "jaccard"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(["jaccard", "documents", "word_a", "word_b"],
                              ascending=[False, False, True, True]).reset_index(drop=True)
    if top_edges is not None:
        table = table.head(top_edges).reset_index(drop=True)
    for column in ("documents", "documents_a", "documents_b"):
        table[column] = table[column].astype("int64")
    table["jaccard"] = table["jaccard"].astype(float)
    return table


def cooccurrence_graph(edges, frequencies=None, seed=0):
    """Build the co-occurrence network of :func:`cooccurrence_table`, with communities.

    Parameters
    ----------
    edges : pandas.DataFrame
        Output of :func:`cooccurrence_table`.
    frequencies : pandas.DataFrame, optional
        Output of :func:`word_frequencies`; gives each node its ``count``.
    seed : int, default 0
        Seed of the community detection (Louvain), for the same colours on every run.

    Returns
    -------
    networkx.Graph
        Nodes are tokens with ``label`` (display form), ``count`` (occurrences, or the
        number of comments when `frequencies` is omitted) and ``community`` (0 = largest);
        edges carry ``weight`` (Jaccard) and ``documents``.
    """
    import networkx as nx

    graph = nx.Graph()
    for row in edges.itertuples(index=False):
        graph.add_node(row.word_a, label=row.display_a, count=int(row.documents_a))
        graph.add_node(row.word_b, label=row.display_b, count=int(row.documents_b))
        graph.add_edge(row.word_a, row.word_b, weight=float(row.jaccard),
                       documents=int(row.documents))
    if frequencies is not None and len(frequencies):
        counts = dict(zip(frequencies["word"], frequencies["count"]))
        for node in graph.nodes:
            if node in counts:
                graph.nodes[node]["count"] = int(counts[node])
    if graph.number_of_nodes():
        communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
        ordered = sorted(communities, key=lambda c: (-len(c), min(c)))
        for number, members in enumerate(ordered):
            for node in members:
                graph.nodes[node]["community"] = number
    return graph


def edit_catalog(catalog, rename=None, add=None, assignments=None, version=None):
    """Return a copy of a catalog with themes renamed and added (the catalog is unchanged).

    Parameters
    ----------
    catalog : ThemeCatalog
    rename : dict of str to str, optional
        Theme code -> new Japanese name, e.g. ``{"T07": "相談員の増員・待ち時間の短縮"}``.
    add : list of dict, optional
        New themes: ``code``, ``name`` and optionally ``description``, ``seed_words`` and
        ``examples`` (labelled comments), or ``from_theme``, the id of a theme in
        `assignments` (e.g. a discovered ``D03``) whose distinct comments become the examples
        (at most :data:`MAX_PROMOTED_EXAMPLES`, best scores first).
    assignments : pandas.DataFrame, optional
        ``comment``, ``theme_id`` and ``score`` of each comment, as from
        :func:`analysis.pipeline.assign_themes`; needed for ``from_theme``.
    version : str, optional
        Version of the new catalog (default: the old version + ``"+edited"``).

    Returns
    -------
    ThemeCatalog
        With its classifier retrained on the edited themes; ``save`` writes a file that
        :meth:`ThemeCatalog.load` and ``survey-analysis themes --catalog`` read back.

    Raises
    ------
    KeyError
        When `rename` names an unknown code or ``from_theme`` has no comments.
    ValueError
        When an added theme reuses a code, lacks a code or name, or has no examples and no
        seed words.
    """
    data = catalog.to_dict()
    themes = [dict(theme) for theme in data["themes"]]
    by_code = {theme["code"]: theme for theme in themes}
    for code, name in (rename or {}).items():
        if code not in by_code:
            raise KeyError(f"cannot rename {code!r}: the catalog has {sorted(by_code)}")
        if not str(name).strip():
            raise ValueError(f"the new name of {code!r} is empty")
        by_code[code]["name"] = str(name).strip()
    for spec in add or []:
        theme = _new_theme(spec, assignments)
        if theme["code"] in by_code:
            raise ValueError(f"the catalog already has a theme {theme['code']!r}; rename it instead")
        by_code[theme["code"]] = theme
        themes.append(theme)
    data["themes"] = themes
    data["version"] = version or f"{catalog.version}+edited"
    return ThemeCatalog.from_dict(data)


def _new_theme(spec, assignments):
    unknown = set(spec) - {*_THEME_KEYS, "from_theme"}
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)} in added theme {spec!r}")
    code, name = str(spec.get("code") or "").strip(), str(spec.get("name") or "").strip()
    if not code or not name:
        raise ValueError(f"an added theme needs a code and a name, got {spec!r}")
    examples = [str(text) for text in spec.get("examples", [])]
    source = spec.get("from_theme")
    if source is not None:
        if assignments is None:
            raise ValueError(f"theme {code!r} is built from_theme {source!r}: pass assignments")
        members = assignments[assignments["theme_id"] == source]
        if members.empty:
            raise KeyError(f"no comment has theme {source!r}; cannot build {code!r} from it")
        members = members.sort_values("score", ascending=False, kind="stable")
        examples += list(dict.fromkeys(members["comment"].astype(str)))[:MAX_PROMOTED_EXAMPLES]
    seed_words = [str(word) for word in spec.get("seed_words", [])]
    if not examples and not seed_words:
        raise ValueError(f"added theme {code!r} needs examples, seed_words or from_theme")
    return {"code": code, "name": name, "description": str(spec.get("description", "")),
            "seed_words": seed_words, "examples": examples}
