"""Benchmark `survey-analysis run` at two database sizes, and an incremental run.

    python benchmarks/bench_run.py                  # 1,000,000 and 3,000,000 demo answers
    python benchmarks/bench_run.py --quick          # 10,000 and 30,000
    python benchmarks/bench_run.py --sizes 1000000 3000000 --cache-dir /tmp/bench_run

Each size's demo database (`flask demo-data`, built once into --cache-dir and reused) is
copied, and `survey-analysis run` is timed on the copy as a separate process; its peak RSS
is the largest of that process and its workers (os.wait4). Then NEW answers (1 % of the
largest size, copies of existing ones under new ids) are added and `run --incremental`
is timed. Printed ratios, all measured in this run:

- memory: peak RSS at the largest size over the smallest (~1.0 = bounded, not growing with rows);
- time: largest over smallest full run;
- incremental: its time over the full run's at the same size, next to the share of answers new.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env(url: str) -> dict:
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("SURVEY_ANALYSIS_PROGRESS_SECONDS", None)
    return env


def _flask(url: str, *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "survey_app", *args], env=_env(url), cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)


def demo_database(cache_dir: Path, n: int) -> Path:
    """The cached demo database of n answers (built when missing)."""
    path = cache_dir / f"demo-{n}.sqlite3"
    done = path.with_name(path.name + ".done")
    if not done.exists():
        print(f"building {path} ({n:,} demo answers; minutes for millions)...", flush=True)
        path.unlink(missing_ok=True)
        _flask(f"sqlite:///{path}", "db", "upgrade")
        _flask(f"sqlite:///{path}", "demo-data", "--responses", str(n))
        done.touch()
    return path


def timed_run(url: str, *extra: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of the process and its workers, stdout) of one run."""
    started = time.perf_counter()
    process = subprocess.Popen([str(BIN / "survey-analysis"), "run", "--database-url", url, *extra],
                               env=_env(url), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    out = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"survey-analysis run {' '.join(extra)} failed:\n{out}")
    return seconds, usage.ru_maxrss / 1024, out


def add_answers(path: Path, n: int) -> None:
    """n new answers: copies of the first n, with new ids and client ids."""
    import sqlite3

    connection = sqlite3.connect(path)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(responses)") if row[1] not in ("id", "client_uuid")]
    listed = ", ".join(columns)
    connection.execute(f"INSERT INTO responses (client_uuid, {listed}) SELECT lower(hex(randomblob(16))), {listed} "
                       f"FROM responses ORDER BY id LIMIT ?", (n,))
    connection.commit()
    connection.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 and 30,000 answers")
    parser.add_argument("--sizes", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/bench_run"),
                        help="where the demo databases are built once and reused")
    parser.add_argument("--new", type=float, default=0.01, help="share of new answers for the incremental run")
    args = parser.parse_args(argv)
    sizes = args.sizes or ((10_000, 30_000) if args.quick else (1_000_000, 3_000_000))
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for n in sizes:
        source = demo_database(args.cache_dir, n)
        work = args.cache_dir / f"work-{n}.sqlite3"
        shutil.copyfile(source, work)
        url = f"sqlite:///{work}"
        _flask(url, "db", "upgrade")
        seconds, rss, _out = timed_run(url)
        results[n] = (seconds, rss)
        print(f"{n:>10,} answers: full run {seconds:7.1f} s, peak RSS {rss:7.0f} MB", flush=True)
    small, large = sizes
    print(f"memory ratio {large:,}/{small:,}: {results[large][1] / results[small][1]:.2f} (1.0 = flat)")
    print(f"time ratio   {large:,}/{small:,}: {results[large][0] / results[small][0]:.2f} "
          f"(rows ratio {large / small:.1f})")
    work = args.cache_dir / f"work-{large}.sqlite3"
    new = max(1, int(large * args.new))
    add_answers(work, new)
    seconds, rss, out = timed_run(f"sqlite:///{work}", "--incremental")
    if "new answers added" not in out:
        raise SystemExit(f"the incremental run did not extend the last run:\n{out}")
    full = results[large][0]
    print(f"incremental: {new:,} new answers on {large:,}: {seconds:.1f} s, peak RSS {rss:.0f} MB; "
          f"time ratio to the full run {seconds / full:.3f} (new answers {new / (large + new):.3f} of all)")
    for n in sizes:
        (args.cache_dir / f"work-{n}.sqlite3").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
