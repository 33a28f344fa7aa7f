"""Quality and scale figures for no-comment detection, discovery and the catalog.

Run from the repository root::

    .venv/bin/python benchmarks/bench_themes.py            # full: 25k..200k scaling
    .venv/bin/python benchmarks/bench_themes.py --quick    # 100k end to end, 25k..50k scaling

Prints: no-comment F1 on the dev comments (T00 = positive), discovery NMI
against the human labels (T00 excluded) with automatic k and the chosen k,
ARI between seeds 0 and 1, catalog macro-F1 under 5-fold stratified
cross-validation, and the end-to-end time of ``assign_themes`` on synthetic
surveys relative to a bare fugashi loop over the same texts, with the peak
memory of that run (measured in a fresh subprocess, VmHWM).
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

from corpus import load_dev_comments, synthesize  # noqa: E402


def quality():
    from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
    from sklearn.model_selection import StratifiedKFold

    from analysis import ThemeCatalog, ThemeDiscovery, is_no_comment

    dev = load_dev_comments()
    f1 = f1_score(dev["theme"] == "T00", dev["comment"].map(is_no_comment))
    print(f"no-comment F1 (dev, T00 positive): {f1:.3f}")

    content = (dev["theme"] != "T00").to_numpy()
    runs = {}
    for seed in (0, 1):
        start = time.perf_counter()
        model = ThemeDiscovery(random_state=seed).fit(dev["comment"])
        runs[seed] = model
        nmi = normalized_mutual_info_score(dev["theme"][content], model.labels_[content])
        print(f"discovery seed={seed}: auto k={model.n_themes_}, NMI={nmi:.3f} ({time.perf_counter() - start:.1f} s)")
    ari = adjusted_rand_score(runs[0].labels_[content], runs[1].labels_[content])
    print(f"discovery ARI between seeds 0 and 1: {ari:.3f}")
    print("themes (seed 0):")
    for row in runs[0].themes_.itertuples():
        print(f"  {row.theme:2d} {row.size:3d}  {row.label}")

    data = dev[dev["theme"] != "T00"].reset_index(drop=True)
    seeds = {t["code"]: t["seed_words"] for t in ThemeCatalog.load().themes}
    for label, seed_words in (("with seed words", seeds), ("examples only", None)):
        truth, predicted = [], []
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(data, data["theme"]):
            catalog = ThemeCatalog.train(data.iloc[train], seed_words=seed_words, threshold=0.0)
            predicted += list(catalog.assign(data["comment"].iloc[test])["code"])
            truth += list(data["theme"].iloc[test])
        print(f"catalog 5-fold macro-F1 ({label}): {f1_score(truth, predicted, average='macro'):.3f}")


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


def _child(n):
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
    assignments, themes = assign_themes(texts, random_state=0)
    elapsed = time.perf_counter() - start
    peak_mb = _peak_rss_mb()
    print(json.dumps({
        "n": n, "distinct": len(set(texts)), "bare": bare, "end_to_end": elapsed, "peak_mb": peak_mb,
        "sources": assignments["source"].value_counts().to_dict(), "n_discovered": int((themes["source"] == "discovery").sum()),
    }))


def scale(sizes):
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(
            f"n={n:>7,} ({result['distinct']:,} distinct): bare fugashi {result['bare']:6.2f} s, "
            f"assign_themes {result['end_to_end']:6.2f} s = {result['end_to_end'] / result['bare']:.2f}x bare, "
            f"peak RSS {result['peak_mb']:.0f} MB, sources {result['sources']}"
        )
    first, last = results[0], results[-1]
    print(
        f"growth {first['n']:,} -> {last['n']:,} comments (x{last['n'] / first['n']:.0f}): "
        f"time x{last['end_to_end'] / first['end_to_end']:.1f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    quality()
    scale([25_000, 50_000, 100_000] if args.quick else [25_000, 50_000, 100_000, 200_000])


if __name__ == "__main__":
    main()
