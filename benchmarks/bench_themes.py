"""Quality and scale figures for no-comment detection, discovery and the catalog.

Run from the repository root::

    .venv/bin/python benchmarks/bench_themes.py            # full: 25k..200k scaling
    .venv/bin/python benchmarks/bench_themes.py --quick    # 100k end to end, 25k..50k scaling

Prints: no-comment F1 on the dev comments (T00 = positive); discovery NMI
against the human labels (T00 excluded) with automatic k for seeds 0-5, the
chosen k and the ARI between seeds, and NMI without the word vectors; catalog macro-F1 under 5-fold stratified
cross-validation (threshold 0: every comment gets its best theme; and at the
catalog's threshold, where "unassigned" counts as wrong); the shipped
catalog on comments reworded away from the dev comments' vocabulary; how well the
threshold separates known themes from a theme held out of training; and the
end-to-end time of ``assign_themes`` on synthetic surveys relative to a bare
fugashi loop over the same texts (median of rounds, each measured back to
back in a fresh subprocess), with both cores (what ``survey-analysis themes``
uses by default) and with one, and the peak memory (VmHWM).

Targets (issue 3): no-comment F1 >= 0.95, NMI >= 0.45, catalog macro-F1 >= 0.90,
100k comments end to end <= 3x the bare loop, peak memory < 2 GB.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import load_dev_comments, load_reworded_comments, synthesize  # noqa: E402


def quality():
    import numpy as np
    from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
    from sklearn.model_selection import StratifiedKFold

    from analysis import ThemeCatalog, ThemeDiscovery, is_no_comment
    from analysis.catalog import choose_threshold, held_out_scores

    dev = load_dev_comments()
    f1 = f1_score(dev["theme"] == "T00", dev["comment"].map(is_no_comment))
    print(f"no-comment F1 (dev, T00 positive): {f1:.3f}")

    content = (dev["theme"] != "T00").to_numpy()
    runs = {}
    for seed in range(6):
        start = time.perf_counter()
        model = ThemeDiscovery(random_state=seed).fit(dev["comment"])
        runs[seed] = model
        nmi = normalized_mutual_info_score(dev["theme"][content], model.labels_[content])
        print(f"discovery seed={seed}: auto k={model.n_themes_}, NMI={nmi:.3f} ({time.perf_counter() - start:.1f} s)")
    nmis = [normalized_mutual_info_score(dev["theme"][content], m.labels_[content]) for m in runs.values()]
    print(f"discovery NMI over seeds 0-5: min {min(nmis):.3f}, median {np.median(nmis):.3f}, "
          f"max {max(nmis):.3f} (word vectors: {runs[0].word_vectors_name_})")
    sparse_only = [
        normalized_mutual_info_score(
            dev["theme"][content], ThemeDiscovery(word_vectors=None, random_state=seed).fit(dev["comment"]).labels_[content]
        )
        for seed in range(6)
    ]
    print(f"  reference, sparse views only: min {min(sparse_only):.3f}, median {np.median(sparse_only):.3f}, "
          f"max {max(sparse_only):.3f}")
    ari = adjusted_rand_score(runs[0].labels_[content], runs[1].labels_[content])
    aris = [adjusted_rand_score(runs[a].labels_[content], runs[b].labels_[content])
            for a in runs for b in runs if a < b]
    print(f"discovery ARI between seeds 0 and 1: {ari:.3f} (mean over all pairs of seeds 0-5: {np.mean(aris):.3f})")
    print("themes (seed 0):")
    for row in runs[0].themes_.itertuples():
        print(f"  {row.theme:2d} {row.size:3d}  {row.label}")

    data = dev[dev["theme"] != "T00"].reset_index(drop=True)
    default = ThemeCatalog.load()
    seeds = {t["code"]: t["seed_words"] for t in default.themes}
    for label, seed_words in (("with seed words", seeds), ("examples only", None)):
        for split_seed in (0, 1, 2):
            truth, predicted, scores = [], [], []
            for train, test in StratifiedKFold(5, shuffle=True, random_state=split_seed).split(data, data["theme"]):
                catalog = ThemeCatalog.train(data.iloc[train], seed_words=seed_words, threshold=0.0)
                result = catalog.assign(data["comment"].iloc[test])
                predicted += list(result["theme_id"])
                scores += list(result["score"])
                truth += list(data["theme"].iloc[test])
            kept = [code if score >= default.threshold else "unassigned" for code, score in zip(predicted, scores)]
            print(f"catalog 5-fold macro-F1 ({label}, split seed {split_seed}): "
                  f"{f1_score(truth, predicted, average='macro'):.3f} at threshold 0, "
                  f"{f1_score(truth, kept, average='macro', labels=sorted(set(truth))):.3f} at the "
                  f"catalog's threshold {default.threshold:.2f} (unassigned counted as wrong)")
    reworded = load_reworded_comments()
    at_threshold = default.assign(reworded["comment"])
    best_theme = ThemeCatalog.from_dict({**default.to_dict(), "threshold": 0.0}).assign(reworded["comment"])
    print(f"shipped catalog on {len(reworded)} reworded comments (written for this benchmark in words the dev "
          f"comments do not use): accuracy {(best_theme['theme_id'] == reworded['theme']).mean():.3f} at threshold 0, "
          f"{(at_threshold['theme_id'] == reworded['theme']).mean():.3f} at the catalog's threshold "
          f"({at_threshold['theme_id'].isna().mean():.0%} unassigned)")
    threshold, table = choose_threshold(held_out_scores(dev, seeds))
    print(f"unassigned threshold measured (each theme held out in turn): {threshold:.2f}; shipped: {default.threshold:.2f}")
    for row in table[table["threshold"].isin([0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8])].itertuples():
        print(f"  threshold {row.threshold:.2f}: known-theme comments kept {row.known_kept:.0%}, "
              f"unseen-theme comments unassigned {row.unseen_unassigned:.0%}")


def _peak_rss_mb():
    """Peak resident memory of this process in MB.

    VmHWM belongs to the current program image; ru_maxrss would also count the
    parent's peak, which survives fork + exec on Linux.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(n, n_jobs):
    """Run in a subprocess: time a bare fugashi loop and assign_themes on n comments."""
    import fugashi

    from analysis import assign_themes

    texts = synthesize(n, seed=0)
    tagger = fugashi.Tagger()
    start = time.perf_counter()
    for text in texts:
        [w.surface for w in tagger(text)]
    bare = time.perf_counter() - start
    start = time.perf_counter()
    assignments, themes, mentions = assign_themes(texts, random_state=0, n_jobs=n_jobs)
    elapsed = time.perf_counter() - start
    peak_mb = _peak_rss_mb()
    print(json.dumps({
        "n": n, "distinct": len(set(texts)), "bare": bare, "end_to_end": elapsed, "peak_mb": peak_mb,
        "sources": assignments["source"].value_counts().to_dict(), "mentions": len(mentions), "n_discovered": int((themes["source"] == "discovery").sum()),
    }))


def _run_child(n, n_jobs):
    out = subprocess.run([sys.executable, __file__, "--child", str(n), "--jobs", str(n_jobs)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scale(sizes, rounds):
    import statistics

    medians = {}
    for n in sizes:
        for n_jobs in (-1, 1):
            results = [_run_child(n, n_jobs) for _ in range(rounds)]
            ratio = statistics.median(r["end_to_end"] / r["bare"] for r in results)
            seconds = statistics.median(r["end_to_end"] for r in results)
            bare = statistics.median(r["bare"] for r in results)
            peak = max(r["peak_mb"] for r in results)
            medians[(n, n_jobs)] = seconds
            jobs = "both cores" if n_jobs == -1 else "one core  "
            print(
                f"n={n:>7,} ({results[0]['distinct']:,} distinct) {jobs}: bare fugashi {bare:6.2f} s, "
                f"assign_themes {seconds:6.2f} s = {ratio:.2f}x bare (median of {rounds}), "
                f"peak RSS {peak:.0f} MB, sources {results[0]['sources']}, "
                f"{results[0]['n_discovered']} discovered themes"
            )
    first, last = sizes[0], sizes[-1]
    for n_jobs, jobs in ((-1, "both cores"), (1, "one core")):
        steps = ", ".join(f"{n // 1000}k {medians[(n, n_jobs)]:.1f} s" for n in sizes)
        print(f"growth {first:,} -> {last:,} comments (x{last / first:.0f}), {jobs}: "
              f"time x{medians[(last, n_jobs)] / medians[(first, n_jobs)]:.1f} ({steps})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=None, help="end-to-end runs per size (median)")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.jobs)
        return
    quality()
    rounds = args.rounds or (1 if args.quick else 3)
    scale([25_000, 50_000, 100_000] if args.quick else [25_000, 50_000, 100_000, 200_000], rounds)


if __name__ == "__main__":
    main()
