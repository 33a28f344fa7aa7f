"""Yearly targets (年度目標) next to satisfaction: what the report pages and exports show.

The judging itself is analysis.achievement's; this module only shapes it for one page.
"""
from dataclasses import dataclass, field

import pandas as pd

from analysis.achievement import (STATUS_LABELS, STATUSES, achievement_summary, classify_facilities,
                                  employments_by_facility)

from ..targets.queries import achievement_for, targets_frame


@dataclass
class OverviewAchievement:
    """Each shown facility's classification, and the summary over them in the seed's form."""

    by_facility: dict[int, dict] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    employments: float = 0.0

    @property
    def n_classified(self) -> int:
        return sum(self.counts.values())

    @property
    def text(self) -> str:
        """E.g. 「年度目標：達成 34施設・一部達成 37施設・未達成 9施設（80施設）、就職者数 44,128人」."""
        if not self.n_classified:
            return ""
        parts = "・".join(f"{label} {self.counts[key]}施設" for key, label in STATUS_LABELS.items())
        text = f"年度目標：{parts}（目標のある{self.n_classified}施設）"
        if self.employments:
            text += f"、就職者数の実績 計{self.employments:,.0f}人"
        return text


def overview_achievement(fiscal_year: int, facilities) -> OverviewAchievement:
    """Classify the given facilities' targets for one fiscal year."""
    ids = [facility.id for facility in facilities]
    if not ids:
        return OverviewAchievement(counts={key: 0 for key in STATUSES})
    frame = targets_frame(fiscal_year, ids)
    by = ("facility_id", "fiscal_year")
    classified = classify_facilities(frame, by=by).merge(
        employments_by_facility(frame, by=by), on=list(by), how="left")
    by_facility = {}
    for row in classified.itertuples(index=False):
        employments = None if pd.isna(row.employments) else float(row.employments)
        by_facility[int(row.facility_id)] = {
            "status": row.status, "status_label": row.status_label,
            "n_indicators": int(row.n_indicators), "n_met": int(row.n_met),
            "n_pending": int(row.n_pending), "employments": employments,
        }
    # Targets set but no result yet (the running year): shown, not judged.
    for facility_id in set(frame["facility_id"]) - set(by_facility):
        by_facility[int(facility_id)] = {"status": None, "status_label": "実績待ち", "n_indicators": 0,
                                         "n_met": 0, "n_pending": None, "employments": None}
    counts = {key: sum(1 for item in by_facility.values() if item["status"] == key) for key in STATUSES}
    employments = sum(item["employments"] or 0.0 for item in by_facility.values())
    return OverviewAchievement(by_facility, counts, employments)


def national_achievement(fiscal_year: int, facility_ids=None) -> dict:
    """The year's targets of every facility in the seed's form: per 自治体 and per 施設.

    A 自治体 is judged on all targets of all its facilities (analysis.achievement:
    「一部の拠点を除いて」 is 一部達成). Returns {"municipalities": {status: n},
    "facilities": {status: n}, "n_municipalities", "n_facilities", "employments", "text"}.
    """
    frame = targets_frame(fiscal_year, facility_ids)
    result = {}
    for unit, by in (("municipalities", ("municipality", "fiscal_year")),
                     ("facilities", ("facility_id", "fiscal_year"))):
        summary = achievement_summary(classify_facilities(frame, by=by),
                                      employments_by_facility(frame, by=by), by=("fiscal_year",))
        row = summary.iloc[0] if len(summary) else None
        result[unit] = {key: int(row[key]) if row is not None else 0 for key in STATUSES}
        result[f"n_{unit}"] = int(row["n_classified"]) if row is not None else 0
        result["employments"] = float(row["employments"]) if row is not None else 0.0
    counts, total = result["municipalities"], result["n_municipalities"]
    result["text"] = (f"目標を判定した{total}自治体のうち、{counts['achieved']}自治体において目標を完全に達成。"
                      f"また、{counts['partly']}自治体では一部の項目または一部の拠点を除いて目標達成"
                      f"（未達成は{counts['not_achieved']}自治体）。") if total else ""
    return result


def facility_targets(facility, fiscal_year: int) -> dict:
    """One facility's targets and results for one fiscal year, each judged."""
    frame = achievement_for(fiscal_year, [facility.id])
    rows = []
    for row in frame.itertuples(index=False):
        rows.append({
            "indicator_name": row.indicator_name, "kind": row.kind, "unit": row.unit,
            "direction": row.direction, "target": _number(row.target), "result": _number(row.result),
            "met": None if pd.isna(row.met) else bool(row.met), "note": "" if pd.isna(row.note) else row.note,
        })
    labels = frame["status_label"].dropna()
    status_label = labels.iloc[0] if len(labels) else None
    return {"rows": rows, "status_label": status_label}


def _number(value):
    return None if pd.isna(value) else float(value)


def met_mark(met) -> str:
    """○ met, × not met, — not known yet (no result)."""
    return "—" if met is None else ("○" if met else "×")
