"""Targets as DataFrames for pages, exports and notebooks; the judging is in analysis.achievement."""
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import select

from analysis.achievement import (STATUS_LABELS, achievement_summary, classify_facilities,
                                  employments_by_facility, indicator_met)

from ..extensions import db
from ..models import Facility, Target

TARGET_COLUMNS = [
    "target_id", "facility_id", "facility_code", "facility_name", "prefecture", "municipality",
    "operator_kind", "fiscal_year", "indicator_key", "indicator_name", "kind", "unit",
    "direction", "target", "result", "note",
]
FACILITY_KEYS = ["facility_id", "facility_code", "facility_name", "prefecture", "municipality",
                 "operator_kind"]


def targets_frame(fiscal_year: int | None = None, facility_ids: Iterable[int] | None = None,
                  prefecture: str | None = None, operator_kind: str | None = None) -> pd.DataFrame:
    """Return one row per stored target with its facility's details (TARGET_COLUMNS)."""
    query = (select(Target.id, Target.facility_id, Facility.code, Facility.name,
                    Facility.prefecture, Facility.municipality, Facility.operator_kind,
                    Target.fiscal_year, Target.indicator_key, Target.indicator_name, Target.kind,
                    Target.unit, Target.direction, Target.target, Target.result, Target.note)
             .join(Facility, Target.facility_id == Facility.id)
             .order_by(Target.fiscal_year, Facility.code, Target.id))
    if fiscal_year is not None:
        query = query.where(Target.fiscal_year == fiscal_year)
    if facility_ids is not None:
        query = query.where(Target.facility_id.in_(list(facility_ids)))
    if prefecture:
        query = query.where(Facility.prefecture == prefecture)
    if operator_kind:
        query = query.where(Facility.operator_kind == operator_kind)
    frame = pd.DataFrame(db.session.execute(query).all(), columns=TARGET_COLUMNS)
    for column in ("target", "result"):
        frame[column] = frame[column].astype("float64")
    return frame


def achievement_for(fiscal_year: int, facility_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Return each target of the facilities in one fiscal year, judged.

    One row per target: TARGET_COLUMNS, then ``met`` (nullable boolean; ``<NA>`` while the
    result is unknown) and the facility's ``status`` (achieved|partly|not_achieved, or
    ``None`` when it has no assessed target) with ``status_label`` (達成/一部達成/未達成).
    ``facility_ids=None`` means every facility; facilities without targets have no rows.
    """
    frame = targets_frame(fiscal_year, facility_ids)
    frame["met"] = indicator_met(frame) if not frame.empty else pd.Series(dtype="boolean")
    classified = classify_facilities(frame)[["facility_code", "fiscal_year", "status", "status_label"]]
    return frame.merge(classified, on=["facility_code", "fiscal_year"], how="left")


def facility_achievement(fiscal_year: int | None = None, facility_ids: Iterable[int] | None = None,
                         prefecture: str | None = None,
                         operator_kind: str | None = None) -> pd.DataFrame:
    """Return one row per classified facility-year: FACILITY_KEYS, fiscal_year, status, counts
    and ``employments`` (the 就職者数 result, NaN when the facility has none)."""
    frame = targets_frame(fiscal_year, facility_ids, prefecture, operator_kind)
    by = FACILITY_KEYS + ["fiscal_year"]
    classified = classify_facilities(frame, by=tuple(by))
    employments = employments_by_facility(frame, by=tuple(by))
    return classified.merge(employments, on=by, how="left")


def national_summary(fiscal_year: int | None = None, prefecture: str | None = None,
                     operator_kind: str | None = None) -> pd.DataFrame:
    """Return the seed's table per fiscal year: achieved/partly/not_achieved and 就職者数."""
    frame = targets_frame(fiscal_year, prefecture=prefecture, operator_kind=operator_kind)
    by = ("facility_code", "fiscal_year")
    return achievement_summary(classify_facilities(frame, by=by),
                               employments_by_facility(frame, by=by))


def fiscal_years() -> list[int]:
    """Return the fiscal years that have targets, newest first."""
    return list(db.session.scalars(
        select(Target.fiscal_year).distinct().order_by(Target.fiscal_year.desc())))


__all__ = ["STATUS_LABELS", "achievement_for", "facility_achievement", "fiscal_years",
           "national_summary", "targets_frame"]
