"""Retraining a theme catalog version on 1,000 examples: time against one fit of the same catalog.

Run from the repository root::

    .venv/bin/python benchmarks/bench_catalog_retrain.py            # 1,000 examples
    .venv/bin/python benchmarks/bench_catalog_retrain.py --quick    # 400 examples

The catalog is the shipped one (its 330 single-theme and 440 multi-point examples) plus
analysts' decisions standing for the rest (dev comments relabelled with a few words added),
up to ``--examples``. A retrain (:func:`analysis.catalog_versions.retrain` on a SQLite
database: store the candidate, fit it, 5-fold cross-validate it, store figures and progress)
is timed against the reference measured in the same run: one fit of the same catalog
(:meth:`ThemeCatalog.from_dict`), which a retrain needs six of (the candidate and five folds
on 80 % of the multi-point examples each), the folds shared by every core (``--jobs``).
Target: under 30 s at 1,000 examples.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import load_dev_multilabel  # noqa: E402

TARGET_SECONDS = 30.0
# Words an analyst's relabelled comment may carry before the original (new texts, same points).
PREFIXES = ("正直なところ、", "前回も思いましたが、", "今日の感想です。", "一言だけ。", "家族とも話しましたが、")


def decisions(shipped: dict, n: int) -> list[dict]:
    """``n`` decision examples: dev multi-point comments with a prefix, their labels kept."""
    known = {t["code"] for t in shipped["themes"]}
    rows = [r for r in load_dev_multilabel().itertuples()
            if r.labels and not r.labels.startswith("T00") and {p.split(":")[0] for p in r.labels.split(";")} <= known]
    return [{"comment": PREFIXES[i // len(rows) % len(PREFIXES)] + rows[i % len(rows)].comment,
             "labels": rows[i % len(rows)].labels} for i in range(n)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 examples instead of 1,000")
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=-1, help="processes sharing the folds (default: every core)")
    args = parser.parse_args(argv)
    from analysis import catalog_versions
    from analysis.catalog import DEFAULT_CATALOG_PATH, ThemeCatalog
    from survey_app import create_app
    from survey_app.extensions import db

    n_examples = args.examples or (400 if args.quick else 1000)
    shipped = json.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    if n_examples < 770:  # fewer than the shipped catalog holds: keep its first multi-point examples only
        shipped["themes"] = [{**t, "examples": t["examples"][: len(t["examples"]) * n_examples // 1540]}
                             for t in shipped["themes"]]
        shipped["examples"] = shipped["examples"][: n_examples - sum(len(t["examples"]) for t in shipped["themes"])]
        extra = []
    else:
        extra = decisions(shipped, n_examples - 770)
    candidate = catalog_versions.candidate_catalog(shipped, extra)
    total = catalog_versions._n_examples(candidate)

    start = time.perf_counter()
    ThemeCatalog.from_dict(candidate)
    reference = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context():
            db.create_all()
            engine = db.engine
            base = catalog_versions.import_catalog(engine, shipped)
            # The base's figures as a previous retrain left them: only the candidate is measured.
            catalog_versions._set(engine, base, cv_figures={"measured": "before"})
            start = time.perf_counter()
            version = catalog_versions.retrain(engine, base_id=base, extra_examples=extra, n_jobs=args.jobs)
            seconds = time.perf_counter() - start
            db.engine.dispose()
    figures = version["cv_figures"]
    print(f"retrain on {total} examples ({figures['n_examples']} multi-point, 5-fold): {seconds:.1f} s; "
          f"one fit of the same catalog (reference): {reference:.1f} s; ratio {seconds / reference:.2f} "
          f"(six fits in a row would be 6.00)")
    print("cross-validated figures: " + ", ".join(
        f"{k} {figures[k]:.3f}" for k in ("micro_f1", "polarity", "main", "exact")))
    if n_examples >= 1000 and seconds >= TARGET_SECONDS:
        print(f"  above target: {seconds:.1f} s >= {TARGET_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
