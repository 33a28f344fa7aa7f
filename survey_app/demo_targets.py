"""Demo yearly targets (年度目標): the seed's 平成24年度 figures, and invented ones for the demo years.

The seed only gives real targets for fiscal 2012, when there are no survey answers. So that a
demo shows targets next to satisfaction, each facility also gets invented targets for the demo's
fiscal years: results for the finished year, none yet for the running one (judged after March).
A facility-year that already has any target is left alone: demo data never overwrites real input.
"""
import numpy as np
from sqlalchemy import select

from .extensions import db
from .models import Facility, Target
from .targets.importer import load_shipped_targets, upsert_targets

DEMO_NOTE = "デモ用の架空の数値"
# (indicator_key, indicator_name, kind, unit, low, high) of the invented targets.
DEMO_INDICATORS = (
    ("consultations", "相談件数", "count", "件", 800, 6000),
    ("employments", "就職者数", "count", "人", 0.08, 0.2),  # a share of the consultations target
    ("employment_rate", "就職率", "rate", "%", 40, 60),
)


def demo_target_rows(facilities: list[Facility], fiscal_years: list[int], finished_years: set[int],
                     seed: int, existing: set[tuple[int, int]]) -> list[dict]:
    """Invented targets per facility and fiscal year; results only for finished years."""
    rng = np.random.default_rng(seed)
    rows = []
    for facility in sorted(facilities, key=lambda f: f.code):
        for fiscal_year in fiscal_years:
            # Drawn before the skip, so one facility's real targets do not shift the others'.
            scale = rng.uniform(0.0, 1.0, size=4)
            performance = rng.normal(1.05, 0.15, size=3)
            if (facility.id, fiscal_year) in existing or facility.start_fiscal_year > fiscal_year:
                continue
            consultations = None
            for (key, name, kind, unit, low, high), draw, ratio in zip(DEMO_INDICATORS, scale, performance):
                if key == "consultations":
                    target = consultations = round(low + (high - low) * draw, -1)
                elif key == "employments":
                    target = round(consultations * (low + (high - low) * draw))
                else:
                    target = round(low + (high - low) * draw)
                result = None
                if fiscal_year in finished_years:
                    result = round(target * ratio, 1 if kind == "rate" else 0)
                    result = min(result, 100.0) if kind == "rate" else result
                rows.append({"facility_id": facility.id, "fiscal_year": fiscal_year, "indicator_key": key,
                             "indicator_name": name, "kind": kind, "unit": unit, "direction": "higher",
                             "target": float(target), "result": result, "note": DEMO_NOTE})
    return rows


def load_demo_targets(fiscal_years: list[int], current_fiscal_year: int, seed: int) -> int:
    """Load the seed's targets and invent the demo years' ones; return how many were added."""
    load_shipped_targets()
    existing = {(facility_id, year) for facility_id, year in db.session.execute(
        select(Target.facility_id, Target.fiscal_year).where(Target.fiscal_year.in_(fiscal_years))
        .where((Target.note.is_(None)) | (Target.note != DEMO_NOTE)))}
    facilities = list(db.session.scalars(select(Facility)))
    finished = {year for year in fiscal_years if year < current_fiscal_year}
    rows = demo_target_rows(facilities, fiscal_years, finished, seed, existing)
    created, _updated = upsert_targets(rows)
    return created
