"""Theme mentions: 5-fold cross-validated quality on the dev sets.

Run from the repository root::

    .venv/bin/python benchmarks/bench_mentions.py            # split seeds 0, 1, 2
    .venv/bin/python benchmarks/bench_mentions.py --quick    # split seed 0

For each fold of ``dev_multilabel.csv`` a catalog is trained, as
``survey-analysis catalog train`` does, on the other folds plus every
single-label dev comment (``dev_comments.csv``) with the shipped catalog's
names and seed words, and themes the held-out comments with
:func:`analysis.pipeline.assign_themes`. Printed, with the issue's targets:

- theme-mention micro-F1 over (comment, theme) pairs, ignoring polarity;
- polarity accuracy on the mentions found that are in the gold set;
- main point in the gold set (the first mention's theme is one of the gold themes);
- no-comment F1 (``T00:N`` positive);
- exact label set with polarity.

Then the same split the other way: 5-fold on the single-label comments with
every multi-label comment in training, main point accuracy; and the shipped
catalog on comments reworded away from the dev vocabulary
(``benchmarks/data/reworded_comments.csv``).
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import load_dev_comments, load_dev_multilabel, load_reworded_comments  # noqa: E402

from analysis.evaluation import mention_lists, score_mentions as score  # noqa: E402

TARGETS = {"micro_f1": 0.88, "polarity": 0.90, "main": 0.92, "no_comment_f1": 0.98, "exact": 0.60}


def _train(frame, shipped):
    from analysis import ThemeCatalog

    return ThemeCatalog.train(
        frame, names=shipped.names, seed_words={t["code"]: t["seed_words"] for t in shipped.themes},
        descriptions={t["code"]: t.get("description", "") for t in shipped.themes},
        threshold=shipped.threshold,
    )


def cross_validate(seed, shipped):
    import pandas as pd
    from sklearn.model_selection import KFold

    from analysis.mentions import parse_labels
    from analysis.pipeline import assign_themes

    multi, single = load_dev_multilabel(), load_dev_comments()
    gold = [parse_labels(v) for v in multi["labels"]]
    predicted, no_comment = [None] * len(multi), [None] * len(multi)
    for train, test in KFold(5, shuffle=True, random_state=seed).split(multi):
        frame = pd.concat([multi.iloc[train][["comment", "labels"]], single[["comment", "theme"]]], ignore_index=True)
        catalog = _train(frame, shipped)
        assignments, _, mentions = assign_themes(multi["comment"].iloc[test].tolist(), catalog=catalog,
                                                 discover=False)
        for i, found, source in zip(test, mention_lists(mentions, len(test)), assignments["source"]):
            predicted[i], no_comment[i] = found, source == "no_comment"
    figures = score(gold, predicted, no_comment)

    # Single-label comments held out, every multi-label comment in training: main point accuracy.
    correct = total = 0
    for train, test in KFold(5, shuffle=True, random_state=seed).split(single):
        frame = pd.concat([multi[["comment", "labels"]], single.iloc[train][["comment", "theme"]]], ignore_index=True)
        catalog = _train(frame, shipped)
        held = single.iloc[test]
        _, _, mentions = assign_themes(held["comment"].tolist(), catalog=catalog, discover=False)
        lists = mention_lists(mentions, len(held))
        for truth, found in zip(held["theme"], lists):
            if truth == "T00":
                continue
            total += 1
            correct += bool(found) and found[0][0] == truth
    figures["single_main"] = correct / max(total, 1)
    return figures


def reworded(catalog):
    from analysis.pipeline import assign_themes

    frame = load_reworded_comments()
    _, _, mentions = assign_themes(frame["comment"].tolist(), catalog=catalog, discover=False)
    lists = mention_lists(mentions, len(frame))
    content = [(t, found) for t, found in zip(frame["theme"], lists) if t != "T00"]
    main = sum(bool(found) and found[0][0] == t for t, found in content) / len(content)
    anywhere = sum(t in dict(found) for t, found in content) / len(content)
    return main, anywhere


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one split seed instead of three")
    args = parser.parse_args(argv)
    from analysis import ThemeCatalog

    shipped = ThemeCatalog.load()
    failed = False
    for seed in [0] if args.quick else [0, 1, 2]:
        start = time.perf_counter()
        figures = cross_validate(seed, shipped)
        line = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
        print(f"5-fold CV, split seed {seed}: {line} ({time.perf_counter() - start:.0f} s)")
        for key, target in TARGETS.items():
            if figures[key] < target:
                print(f"  below target: {key} {figures[key]:.3f} < {target}")
                failed = True
    main_point, anywhere = reworded(shipped)
    print(f"shipped catalog on reworded comments: main point {main_point:.3f}, theme among mentions {anywhere:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
