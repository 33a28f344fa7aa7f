"""Speed of the theme workbench on a 200,000-answer run: its pages vs the bare SQL they need.

    python benchmarks/bench_workbench.py [--responses 200000] [--runs 7] [--quick] [--keep PATH]

Fills a temporary SQLite database with N answers, every one with a comment (bulk Core inserts of
the dev comments, as in bench_overview), stores a run with one or two theme mentions per answer
(the way `survey-analysis run` stores them), logs in as an analyst and times with the test
client GET /themes/ (the theme list: counts, praise/request, monthly trend) and GET /themes/<the
largest theme> (its first page of comments, least certain first, with their labels and
decisions). Each is compared with the bare SQL it needs, run on the same engine in the same run.
Targets: theme list < 0.5 s, first page of comments < 0.3 s. The theme list's counts are cached
per run and decision state, so its first view after a run or a decision costs the bare GROUP BY
(printed too). `--quick` uses 20 000 answers.
"""
import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench_overview import add_theme_run, generate_responses, timed  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.facilities import load_shipped_facilities  # noqa: E402
from survey_app.models import User  # noqa: E402

LIST_TARGET = 0.5
PAGE_TARGET = 0.3
PASSWORD = "bench-password-123"


def fill(url: str, responses: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        db.create_all()
        load_shipped_facilities()
        engine = db.engine
        generate_responses(engine, responses, comment_share=1.0)
        add_theme_run(engine)
        with engine.begin() as connection:
            # The dev comments hold no personal data: their masked form is the text itself.
            connection.execute(sa.text("UPDATE responses SET comment_masked = comment"))
            connection.execute(sa.text(
                "UPDATE response_themes SET theme_id = NULL, source = 'no_comment' WHERE theme_id = 'T00'"))
            connection.execute(sa.text("DELETE FROM themes WHERE code = 'T00'"))
            connection.execute(sa.text(
                "INSERT INTO theme_mentions (run_id, response_id, theme_id, polarity, score, span_start, "
                "span_end, rank) SELECT run_id, response_id, theme_id, CASE WHEN response_id % 3 = 0 "
                "THEN 'request' ELSE 'praise' END, (response_id % 997) / 997.0, 0, 10, 0 "
                "FROM response_themes WHERE theme_id IS NOT NULL"))
            # Every fifth comment makes a second point.
            connection.execute(sa.text(
                "INSERT INTO theme_mentions (run_id, response_id, theme_id, polarity, score, span_start, "
                "span_end, rank) SELECT run_id, response_id, 'T11', 'request', 0.5, 0, 10, 1 "
                "FROM response_themes WHERE theme_id IS NOT NULL AND theme_id != 'T11' "
                "AND response_id % 5 = 0"))
            connection.execute(sa.text("ANALYZE"))
        db.session.add(User(username="bench-analyst", role="analyst",
                            password_hash=generate_password_hash(PASSWORD, method="scrypt")))
        db.session.commit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="20 000 answers")
    parser.add_argument("--keep", metavar="PATH", help="use (and keep) this SQLite file; reuse it if filled")
    args = parser.parse_args(argv)
    responses = 20_000 if args.quick else args.responses

    with tempfile.TemporaryDirectory() as workdir:
        path = Path(args.keep) if args.keep else Path(workdir) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        if not path.exists():
            fill(url, responses)
        print(f"database: {url} filled in {time.perf_counter() - started:.0f} s")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        client = app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"username": "bench-analyst", "password": PASSWORD, "csrf_token": token})
        with app.app_context():
            run_id, n_mentions = db.session.execute(sa.text(
                "SELECT run_id, count(*) FROM theme_mentions GROUP BY run_id")).one()
            n_answers = db.session.scalar(sa.text("SELECT count(*) FROM responses"))
            largest = db.session.scalar(sa.text(
                "SELECT theme_id FROM theme_mentions GROUP BY theme_id ORDER BY count(*) DESC LIMIT 1"))
            size = db.session.scalar(sa.text("SELECT count(*) FROM theme_mentions WHERE theme_id = :c"),
                                     {"c": largest})
        print(f"run {run_id}: {n_answers:,} answers, {n_mentions:,} mentions; largest theme {largest} "
              f"({size:,} mentions)")

        def theme_list():
            assert client.get("/themes/").status_code == 200

        def first_page():
            assert client.get(f"/themes/{largest}").status_code == 200

        def bare_list():
            with app.app_context(), db.engine.connect() as connection:
                connection.execute(sa.text(
                    "SELECT tm.theme_id, tm.polarity, strftime('%Y-%m', r.submitted_at, '+9 hours') AS month, "
                    "count(*) FROM theme_mentions tm JOIN responses r ON r.id = tm.response_id "
                    "WHERE tm.run_id = :run GROUP BY tm.theme_id, tm.polarity, month"), {"run": run_id}).all()

        def bare_page():
            with app.app_context(), db.engine.connect() as connection:
                connection.execute(sa.text(
                    "SELECT count(*) FROM theme_mentions WHERE run_id = :run AND theme_id = :c"),
                    {"run": run_id, "c": largest}).scalar()
                connection.execute(sa.text(
                    "SELECT r.id, r.comment_masked, tm.score FROM theme_mentions tm JOIN responses r "
                    "ON r.id = tm.response_id WHERE tm.run_id = :run AND tm.theme_id = :c "
                    "ORDER BY tm.score LIMIT 30"), {"run": run_id, "c": largest}).all()

        from survey_app.workbench import queries

        queries._LIST_CACHE.clear()
        started = time.perf_counter()
        theme_list()
        print(f"theme list, first view after a run, decision or edit (its counts not cached yet): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        results = []
        for label, function, reference, target in (
                ("theme list   GET /themes/", theme_list, bare_list, LIST_TARGET),
                (f"first page   GET /themes/{largest}", first_page, bare_page, PAGE_TARGET)):
            median, times = timed(function, args.runs)
            bare, _ = timed(reference, args.runs)
            ok = median < target
            results.append(ok)
            print(f"{label}: median {median * 1000:.0f} ms (runs: {', '.join(f'{t * 1000:.0f}' for t in times)}); "
                  f"bare SQL {bare * 1000:.0f} ms; ratio {median / bare:.1f}×; target < {target * 1000:.0f} ms: "
                  f"{'met' if ok else 'NOT met'}")
        return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
