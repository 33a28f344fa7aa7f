"""Synthetic survey corpora of any size, built from the labelled dev comments.

Real surveys repeat a lot (特になし, short praise) and otherwise vary the
wording; the generator mimics both: it reuses dev comments as they are,
joins two comments, and adds openings, endings and punctuation changes.
"""

import random
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_COMMENTS = REPO_ROOT.parent / "shared" / "data" / "dev_comments.csv"
DEV_MULTILABEL = REPO_ROOT.parent / "shared" / "data" / "dev_multilabel.csv"

_OPENINGS = ["", "", "いつも", "前回も", "正直", "個人的に", "今日は", "ちなみに", "できれば", "あと、"]
_ENDINGS = ["", "", "。", "！", "です。", "と思います。", "。よろしくお願いします", "（笑）", "…", "。以上です"]


def load_dev_comments():
    """Return the labelled dev comments as a DataFrame."""
    return pd.read_csv(DEV_COMMENTS)


def load_dev_multilabel():
    """Return the multi-labelled dev comments (``id,comment,labels``) as a DataFrame."""
    return pd.read_csv(DEV_MULTILABEL, keep_default_na=False)


def load_reworded_comments():
    """Return a few comments per theme that say what dev comments say in other words.

    Written for the benchmark as a stand-in for wording the catalog was not
    trained on (the product is judged on such comments too).
    """
    return pd.read_csv(Path(__file__).resolve().parent / "data" / "reworded_comments.csv")


def synthesize(n, seed=0, unique_share=0.5):
    """Return ``n`` comments resampled and varied from the dev comments.

    Parameters
    ----------
    n : int
    seed : int
    unique_share : float
        Rough share of comments that are new variations rather than repeats.

    Returns
    -------
    list of str
    """
    rng = random.Random(seed)
    dev = load_dev_comments()
    empty = [c for c in dev.loc[dev["theme"] == "T00", "comment"].fillna("")]
    content = [c for c in dev.loc[dev["theme"] != "T00", "comment"]]
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.25:
            out.append(rng.choice(empty))
        elif roll < 1 - unique_share:
            out.append(rng.choice(content))
        else:
            text = rng.choice(content).rstrip("。!！")
            if rng.random() < 0.4:
                text = text + "。" + rng.choice(content)
            out.append(rng.choice(_OPENINGS) + text + rng.choice(_ENDINGS))
    return out
