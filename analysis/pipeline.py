"""Theme every comment: known themes from the catalog, new ones by discovery."""

import numpy as np
import pandas as pd

from .catalog import ThemeCatalog
from .themes import ThemeDiscovery

__all__ = ["assign_themes"]

# Discovery on fewer distinct comments than this finds noise, not themes.
MIN_COMMENTS_FOR_DISCOVERY = 10


def assign_themes(texts, catalog=None, n_themes="auto", random_state=0):
    """Assign each comment to a catalog theme, a discovered theme or none.

    Comments the catalog classifies confidently get its code (``T01``...);
    the rest are clustered by :class:`ThemeDiscovery` into ``D01``, ``D02``...
    so that themes the catalog does not know yet surface; no-comment answers
    get no theme.

    Parameters
    ----------
    texts : iterable of str
    catalog : ThemeCatalog, str, os.PathLike or None
        A catalog, a path to one, or None for the shipped default catalog.
    n_themes : int or "auto", default="auto"
        Number of discovered themes.
    random_state : int, default=0

    Returns
    -------
    assignments : pandas.DataFrame
        One row per input comment: ``comment``, ``theme_id``, ``theme_label``,
        ``score``, ``source`` (``"catalog"``, ``"discovery"``, ``"no_comment"``,
        or ``"unassigned"`` when too few comments are left for discovery).
    themes : pandas.DataFrame
        One row per theme used: ``theme_id``, ``label``, ``source``, ``size``,
        ``representatives``.
    """
    texts = list(texts)
    if catalog is None:
        catalog = ThemeCatalog.load()
    elif not isinstance(catalog, ThemeCatalog):
        catalog = ThemeCatalog.load(catalog)

    known = catalog.assign(texts)
    theme_id = np.array(known["code"], dtype=object)
    theme_label = np.array(known["name"], dtype=object)
    score = np.array(known["score"], dtype=float)
    source = np.where(known["no_comment"], "no_comment", "catalog").astype(object)

    leftover = np.flatnonzero(~known["no_comment"].to_numpy() & pd.isna(known["code"]).to_numpy())
    discovered = None
    if len({str(texts[i]) for i in leftover}) >= MIN_COMMENTS_FOR_DISCOVERY:
        discovered = ThemeDiscovery(n_themes=n_themes, random_state=random_state)
        discovered.fit([texts[i] for i in leftover])
        labels = discovered.labels_
        names = dict(zip(discovered.themes_["theme"], discovered.themes_["label"]))
        for row, label, theme_score in zip(leftover, labels, discovered.scores_):
            if label >= 0:
                theme_id[row] = f"D{label + 1:02d}"
                theme_label[row] = names[label]
                score[row] = theme_score
                source[row] = "discovery"
    for row in leftover:
        if source[row] == "catalog":  # left over and not discovered either
            source[row] = "unassigned"

    assignments = pd.DataFrame(
        {
            "comment": texts,
            "theme_id": pd.Series(theme_id, dtype=object),
            "theme_label": pd.Series(theme_label, dtype=object),
            "score": score,
            "source": pd.Series(source, dtype=object),
        }
    )
    return assignments, _summarise(assignments, catalog, discovered)


def _summarise(assignments, catalog, discovered):
    rows = []
    themed = assignments[assignments["theme_id"].notna()]
    for code, name in catalog.names.items():
        members = themed[themed["theme_id"] == code].sort_values("score", ascending=False, kind="stable")
        if len(members):
            representatives = list(dict.fromkeys(members["comment"].astype(str)))[:5]
            rows.append(
                {"theme_id": code, "label": name, "source": "catalog", "size": len(members),
                 "representatives": representatives}
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
                }
            )
    return pd.DataFrame(rows, columns=["theme_id", "label", "source", "size", "representatives"])
