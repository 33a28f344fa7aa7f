"""Speed of the report overview on a large database: the page vs the bare GROUP BY it needs.

    python benchmarks/bench_overview.py [--responses 1000000] [--runs 7] [--quick] [--keep PATH]

Fills a temporary SQLite database with `flask --app survey_app demo-data --responses N`
(falling back to bulk Core inserts made here if that command fails), adds a synthetic theme
run (one theme per comment, as `survey-analysis run` would store), logs in as an admin and
times GET /reports/?fy=… with the test client (median of several runs), then the bare
aggregate query the page needs, run directly on the same engine. Prints both and their ratio.
Targets: page < 0.5 s and page ≤ 2 × bare query. `--quick` uses 100 000 rows.
"""
import argparse
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from analysis.store import aggregate_counts  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.facilities import load_shipped_facilities  # noqa: E402
from survey_app.models import Facility, User  # noqa: E402
from survey_app.timeutil import fiscal_year_of, to_tokyo, utcnow  # noqa: E402

TARGET_SECONDS = 0.5
TARGET_RATIO = 2.0
DEV_COMMENTS = REPO.parent / "shared" / "data" / "dev_comments.csv"
FALLBACK_COMMENTS = ("親切に対応してくれるのでとても満足しています。", "求人検索端末を増設してほしい。",
                     "休日の午前中も開庁してほしい。", "窓口の相談員を増員してほしい。",
                     "福祉の相談と仕事の相談が一か所でできて助かります。", "待ち時間が長い。")
PASSWORD = "bench-password-123"


def comment_pool() -> list[tuple[str, str]]:
    """(comment, theme code) pairs: the shared dev comments, else a few seed-style ones."""
    if DEV_COMMENTS.exists():
        with DEV_COMMENTS.open(encoding="utf-8") as handle:
            return [(row["comment"], row["theme"] or "T00") for row in csv.DictReader(handle)]
    return [(text, f"T{index:02d}") for index, text in enumerate(FALLBACK_COMMENTS, start=1)]


def generate_responses(engine, n: int, seed: int = 2012, comment_share: float = 0.3) -> None:
    """Insert `n` responses over the current and previous fiscal year with Core executemany."""
    rng = random.Random(seed)
    facility_ids = [row[0] for row in engine.connect().execute(sa.text("SELECT id FROM facilities"))]
    pool = comment_pool()
    end = utcnow() - timedelta(days=1)
    start_fy = fiscal_year_of(to_tokyo(end).date()) - 1
    start = datetime(start_fy, 4, 1) - timedelta(hours=9)
    span = (end - start).total_seconds()
    quality = {fid: rng.uniform(0.80, 0.98) for fid in facility_ids}
    table = sa.table("responses", *[sa.column(c) for c in (
        "client_uuid", "facility_id", "form_version", "channel", "submitted_at", "received_at",
        "fiscal_year", "satisfaction", "establishment", "respondent_group", "services", "comment",
        "content_hash")])
    groups = ("welfare", "disability", "parenting", "youth", "middle_aged", "other", None)
    chunk = []
    with engine.begin() as connection:
        for index in range(n):
            facility_id = rng.choice(facility_ids)
            submitted = start + timedelta(seconds=rng.random() * span)
            good = rng.random() < quality[facility_id]
            comment = rng.choice(pool)[0] if rng.random() < comment_share else None
            chunk.append({
                "client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "facility_id": facility_id, "form_version": 1, "channel": "demo",
                "submitted_at": submitted, "received_at": submitted,
                "fiscal_year": fiscal_year_of(to_tokyo(submitted).date()),
                "satisfaction": rng.choice((1, 1, 2)) if good else rng.choice((3, 4)),
                "establishment": rng.choice((1, 2)) if rng.random() < 0.95 else rng.choice((3, 4)),
                "respondent_group": rng.choice(groups), "services": "[]", "comment": comment,
                "content_hash": f"{index:064x}",
            })
            if len(chunk) == 20000:
                connection.execute(table.insert(), chunk)
                chunk = []
        if chunk:
            connection.execute(table.insert(), chunk)


def add_theme_run(engine) -> None:
    """Store a complete run giving each comment a theme, the way `survey-analysis run` stores it."""
    pool = comment_pool()
    theme_of = {text: code for text, code in pool}
    codes = sorted(set(theme_of.values()))
    now = utcnow()
    with engine.begin() as connection:
        run_id = connection.execute(sa.text(
            "INSERT INTO analysis_runs (started_at, finished_at, status, parameters, versions, "
            "n_responses, n_comments, n_themes) VALUES (:now, :now, 'complete', '{}', '{}', 0, 0, :k) "
            "RETURNING id"), {"now": now, "k": len(codes)}).scalar_one()
        connection.execute(sa.text(
            "INSERT INTO themes (run_id, theme_id, label, source, size, words, representative_response_ids) "
            "VALUES (:run, :code, :label, 'catalog', 0, '[]', '[]')"),
            [{"run": run_id, "code": code, "label": f"テーマ {code}"} for code in codes])
        connection.execute(sa.text("CREATE TEMP TABLE bench_theme_of (comment TEXT PRIMARY KEY, code TEXT)"))
        connection.execute(sa.text("INSERT INTO bench_theme_of VALUES (:comment, :code)"),
                           [{"comment": text, "code": code} for text, code in theme_of.items()])
        connection.execute(sa.text(
            "INSERT INTO response_themes (run_id, response_id, theme_id, score, source) "
            "SELECT :run, r.id, t.code, 1.0, CASE WHEN t.code IS NULL THEN 'no_comment' ELSE 'catalog' END "
            "FROM responses r LEFT JOIN bench_theme_of t ON t.comment = r.comment"), {"run": run_id})


def fill_database(url: str, responses: int) -> str:
    """Create the schema and the demo rows; return how the rows were made."""
    env = {**os.environ, "DATABASE_URL": url}
    flask = [sys.executable, "-m", "flask", "--app", "survey_app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=REPO)
    started = time.perf_counter()
    result = subprocess.run([*flask, "demo-data", "--responses", str(responses)], env=env,
                            capture_output=True, text=True, cwd=REPO)
    engine = sa.create_engine(url)
    count = engine.connect().execute(sa.text("SELECT count(*) FROM responses")).scalar_one()
    if result.returncode == 0 and count >= responses * 0.99:
        how = f"flask demo-data ({time.perf_counter() - started:.0f} s)"
    else:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1][:120]
        with app_context(url):
            load_shipped_facilities()
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM responses"))
        started = time.perf_counter()
        generate_responses(engine, responses)
        how = f"bulk Core inserts in the benchmark ({time.perf_counter() - started:.0f} s; demo-data failed: {reason})"
    started = time.perf_counter()
    add_theme_run(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return how + f"; theme run added in {time.perf_counter() - started:.0f} s"


class app_context:
    def __init__(self, url):
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})

    def __enter__(self):
        self.context = self.app.app_context()
        self.context.push()
        return self.app

    def __exit__(self, *exc):
        self.context.pop()


def login(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"username": "bench-admin", "password": PASSWORD,
                                                "csrf_token": token})
    assert response.status_code in (302, 303), response.status_code


def timed(function, runs: int) -> tuple[float, list[float]]:
    function()  # warm-up: page cache, template compilation
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="100 000 responses")
    parser.add_argument("--keep", metavar="PATH", help="use (and keep) this SQLite file; reuse it if filled")
    args = parser.parse_args(argv)
    responses = 100_000 if args.quick else args.responses

    with tempfile.TemporaryDirectory() as workdir:
        path = Path(args.keep) if args.keep else Path(workdir) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        if path.exists():
            how = "reused " + str(path)
        else:
            how = fill_database(url, responses)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            total = db.session.scalar(sa.text("SELECT count(*) FROM responses"))
            fiscal_year = fiscal_year_of(to_tokyo(utcnow()).date())
            year_rows = db.session.scalar(sa.text("SELECT count(*) FROM responses WHERE fiscal_year = :fy"),
                                          {"fy": fiscal_year})
            if db.session.scalar(sa.select(User).where(User.username == "bench-admin")) is None:
                db.session.add(User(username="bench-admin", role="admin",
                                    password_hash=generate_password_hash(PASSWORD, method="scrypt")))
                db.session.commit()
            facilities = db.session.scalar(sa.select(sa.func.count()).select_from(Facility))
        client = app.test_client()
        login(client)

        def page():
            response = client.get(f"/reports/?fy={fiscal_year}")
            assert response.status_code == 200, response.status_code

        def bare():
            with app.app_context():
                aggregate_counts(db.engine, by=("facility_code", "month"), fiscal_years=[fiscal_year])

        def bare_sql():
            with app.app_context(), db.engine.connect() as connection:
                connection.execute(sa.text(
                    "SELECT facility_id, strftime('%Y-%m', submitted_at, '+9 hours') AS month, "
                    "count(satisfaction), sum(satisfaction IN (1, 2)), count(establishment), "
                    "sum(establishment IN (1, 2)) FROM responses WHERE fiscal_year = :fy "
                    "GROUP BY facility_id, month"), {"fy": fiscal_year}).fetchall()

        def measure(label):
            from survey_app.reports import queries

            queries._THEME_CACHE.clear()
            started = time.perf_counter()
            page()
            cold = time.perf_counter() - started
            page_median, page_times = timed(page, args.runs)
            bare_median, _ = timed(bare, args.runs)
            sql_median, _ = timed(bare_sql, args.runs)
            ratio = page_median / bare_median
            print(f"-- {label}")
            print(f"overview page  GET /reports/?fy={fiscal_year}: median {page_median * 1000:.0f} ms "
                  f"(runs: {', '.join(f'{t * 1000:.0f}' for t in page_times)}; first view after a new "
                  f"theme run, cold theme cache: {cold * 1000:.0f} ms)")
            print(f"bare aggregate aggregate_counts(by=facility_code, month): median {bare_median * 1000:.0f} ms "
                  f"(raw SQL GROUP BY: {sql_median * 1000:.0f} ms)")
            print(f"ratio page / bare aggregate: {ratio:.2f}  "
                  f"(targets: page < {TARGET_SECONDS} s, ratio ≤ {TARGET_RATIO})")
            ok = page_median < TARGET_SECONDS and ratio <= TARGET_RATIO
            print("result:", "OK" if ok else "SLOWER THAN TARGET")
            return ok

        print(f"database: {total:,} responses ({year_rows:,} in fiscal year {fiscal_year}), "
              f"{facilities} facilities; {how}")
        with app.app_context():
            indexes = {row[1] for row in db.session.execute(sa.text("PRAGMA index_list(responses)"))}
        ok = measure("schema as migrated (" + ", ".join(sorted(i for i in indexes if i.startswith("ix_"))) + ")")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
