"""Tokenizer throughput against a bare fugashi loop measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tokenize.py            # 100,000 comments, 5 rounds
    .venv/bin/python benchmarks/bench_tokenize.py --quick    # 20,000 comments, 3 rounds

The reference is ``[w.surface for w in tagger(t)]`` for every comment. Two
corpora are timed: a realistic one (repeats as in real surveys, which the
tokenizer deduplicates) and one where every comment is distinct (worst case).
The machine is shared and noisy, so each round times the bare loop and the
tokenizer back to back, and the median over rounds of each time and of each
round's ratio is printed. Ratios above 1 mean the tokenizer is faster than
the bare loop. Targets (issue 3): realistic n_jobs=1 >= 0.8x, n_jobs=2 >= 1.6x.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fugashi  # noqa: E402

from analysis import JapaneseTokenizer  # noqa: E402
from corpus import synthesize  # noqa: E402


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(texts, rounds):
    """Median seconds and median per-round ratio (bare / candidate) of each candidate."""
    tagger = fugashi.Tagger()
    candidates = {
        "bare fugashi loop": lambda: [[w.surface for w in tagger(t)] for t in texts],
        # A fresh tokenizer each time: no cache carried over between rounds.
        "tokenize n_jobs=1": lambda: JapaneseTokenizer(n_jobs=1).transform(texts),
        "tokenize n_jobs=2": lambda: JapaneseTokenizer(n_jobs=2).transform(texts),
    }
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, function in candidates.items():
            times[name].append(_seconds(function))
    bare = times["bare fugashi loop"]
    return {
        name: (statistics.median(seconds), statistics.median(b / s for b, s in zip(bare, seconds)))
        for name, seconds in times.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 comments, 3 rounds")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 100_000)
    rounds = args.rounds or (3 if args.quick else 5)
    realistic = synthesize(n, seed=0)
    distinct = list(dict.fromkeys(synthesize(n * 3, seed=1, unique_share=1.0)))[:n]
    for name, texts in (("realistic", realistic), ("all distinct", distinct)):
        results = measure(texts, rounds)
        print(f"{name}: {len(texts):,} comments, {len(set(texts)):,} distinct, median of {rounds} rounds")
        for label, (seconds, ratio) in results.items():
            print(f"  {label:<20} {seconds:7.3f} s   ratio vs bare {ratio:5.2f}x")


if __name__ == "__main__":
    main()
