"""Benchmark `demo-data` on SQLite against a bare sqlite3 executemany of the same rows.

    python benchmarks/bench_demo_data.py                # 1,000,000 responses
    python benchmarks/bench_demo_data.py --quick        # 100,000
    python benchmarks/bench_demo_data.py --responses 250000

The reference inserts the very rows demo-data wrote (read back beforehand, not timed) into a
fresh database with the same schema and indexes, the same connection settings, the same chunk
size and one transaction per chunk. The ratio is demo-data's total time (generation included)
over the reference's; "write ratio" compares the writing part alone.
"""
import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from survey_app import create_app
from survey_app.demo import CHUNK_ROWS, INSERT_COLUMNS, load_demo_data, summary_line
from survey_app.extensions import db

# Connection settings copied from the app's engine (survey_app.db sets them on connect).
COPIED_PRAGMAS = ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
LOAD_CACHE_SIZE = "PRAGMA cache_size=-131072"  # what demo-data uses while loading


def run_demo(path: Path, n: int, seed: int) -> dict:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        stats = load_demo_data(n, seed, progress=True)
        stats["total_seconds"] = time.perf_counter() - started
        with db.engine.connect() as connection:
            stats["pragmas"] = [f"PRAGMA {name}={connection.exec_driver_sql(f'PRAGMA {name}').scalar()}"
                                for name in COPIED_PRAGMAS]
        db.session.remove()
        db.engine.dispose()
    return stats


def run_reference(demo_path: Path, ref_path: Path, pragmas: list[str]) -> tuple[int, float]:
    engine = create_engine(f"sqlite:///{ref_path}")
    db.metadata.create_all(engine)  # the same tables, constraints and indexes
    engine.dispose()
    source = sqlite3.connect(demo_path)
    facilities = source.execute("SELECT * FROM facilities").fetchall()
    rows = source.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM responses ORDER BY id").fetchall()
    source.close()
    target = sqlite3.connect(ref_path)
    for pragma in (*pragmas, LOAD_CACHE_SIZE):
        target.execute(pragma)
    target.executemany(f"INSERT INTO facilities VALUES ({', '.join('?' * len(facilities[0]))})", facilities)
    target.commit()
    sql = (f"INSERT INTO responses ({', '.join(INSERT_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})")
    started = time.perf_counter()
    for start in range(0, len(rows), CHUNK_ROWS):
        target.executemany(sql, rows[start:start + CHUNK_ROWS])
        target.commit()
    seconds = time.perf_counter() - started
    target.close()
    return len(rows), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 responses")
    parser.add_argument("--seed", type=int, default=2012)
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else args.responses
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        demo_path, ref_path = Path(tmp) / "demo.sqlite3", Path(tmp) / "reference.sqlite3"
        stats = run_demo(demo_path, n, args.seed)
        print(summary_line(stats))
        ref_rows, ref_seconds = run_reference(demo_path, ref_path, stats["pragmas"])
    assert ref_rows == n, (ref_rows, n)
    total, write = stats["total_seconds"], stats["write_seconds"]
    print(f"demo-data: {n:,} rows in {total:.1f} s = {n / total:,.0f} rows/s "
          f"(generate {stats['generate_seconds']:.1f} s, write {write:.1f} s)")
    print(f"reference settings: {'; '.join(stats['pragmas'])}")
    print(f"reference: bare sqlite3 executemany of the same rows in {ref_seconds:.1f} s = "
          f"{n / ref_seconds:,.0f} rows/s")
    print(f"ratio demo-data / reference: {total / ref_seconds:.2f} (write only: {write / ref_seconds:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
