"""Tokenizer throughput against a bare fugashi loop measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tokenize.py            # 100,000 comments
    .venv/bin/python benchmarks/bench_tokenize.py --quick    # 20,000 comments

The reference is ``[w.surface for w in tagger(t)]`` for every comment. Two
corpora are timed: a realistic one (repeats as in real surveys, which the
tokenizer deduplicates) and one where every comment is distinct (worst case).
Ratios above 1 mean the tokenizer is faster than the bare loop.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fugashi  # noqa: E402

from analysis import JapaneseTokenizer  # noqa: E402
from corpus import synthesize  # noqa: E402


def best_of(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(texts, repeat):
    tagger = fugashi.Tagger()
    bare = best_of(lambda: [[w.surface for w in tagger(t)] for t in texts], repeat)
    results = {"bare fugashi loop": bare}
    for n_jobs in (1, 2):
        # A fresh tokenizer each time: no cache carried over between repeats.
        results[f"tokenize n_jobs={n_jobs}"] = best_of(lambda: JapaneseTokenizer(n_jobs=n_jobs).transform(texts), repeat)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 comments, one repeat")
    parser.add_argument("--n", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 100_000)
    repeat = 1 if args.quick else 3
    realistic = synthesize(n, seed=0)
    distinct = list(dict.fromkeys(synthesize(n * 3, seed=1, unique_share=1.0)))[:n]
    for name, texts in (("realistic", realistic), ("all distinct", distinct)):
        results = measure(texts, repeat)
        bare = results["bare fugashi loop"]
        print(f"{name}: {len(texts):,} comments, {len(set(texts)):,} distinct")
        for label, seconds in results.items():
            print(f"  {label:<20} {seconds:7.3f} s   ratio vs bare {bare / seconds:5.2f}x")


if __name__ == "__main__":
    main()
