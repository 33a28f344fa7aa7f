"""The national report (全国集計) in the form of the ministry's report, for admins and analysts.

「アンケート調査を実施したN施設のうち、M施設で90%以上の利用者満足度」 and the same for
「施設ができてよかったか」, broken down by operator kind and by the facilities' support target
groups; the year's targets (達成 / 一部達成 / 未達成); 利用者の声; and each facility's change since
last year and difference from the rest. Counts come from SQL, every figure from `analysis`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from analysis.comparison import group_summary
from analysis.satisfaction import (MEASURES, MIN_N, national_report_sentences, national_summary,
                                   rates_from_counts)

from ..extensions import db
from ..models import OPERATOR_KINDS
from ..questionnaire import RESPONDENT_GROUP
from ..timeutil import fiscal_year_label, utcnow
from . import achievement, comparison, queries, voices

TARGET_GROUP_LABELS = {choice.value: choice.label for choice in RESPONDENT_GROUP.choices}
# Facilities whose support is open to every jobseeker (the seed's 「一般求職者等」).
UNRESTRICTED = "unrestricted"
UNRESTRICTED_LABEL = "対象を特に限定しない"


@dataclass
class NationalReport:
    fiscal_year: int
    summaries: dict  # measure -> national_summary with the report's "lead" and "detail"
    totals: dict  # the pooled rate record of every facility
    changes: dict  # measure -> the pooled rate against the year before
    by_operator: list[dict]
    by_target_group: list[dict]
    facilities: list[dict]  # {facility, change, rest} of each facility with answers
    achievement: dict
    voices: object
    n_facilities: int
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def fiscal_year_label(self) -> str:
        return fiscal_year_label(self.fiscal_year)

    @property
    def previous_year_label(self) -> str:
        return fiscal_year_label(self.fiscal_year - 1)


def _group_rows(table: pd.DataFrame, key: str, labels: dict[str, str]) -> list[dict]:
    """One dict per group, in the order of `labels`: the summary counts and the pooled rates."""
    rows = {row[key]: row for row in table.to_dict("records")}
    result = []
    for value, label in labels.items():
        row = rows.get(value)
        if row is None:
            continue
        record = {"key": value, "label": label, "facilities": int(row["facilities"]),
                  **queries._rate_record(row)}
        for measure in MEASURES:
            for name in ("eligible", "meeting", "suppressed"):
                record[f"{measure}_{name}"] = int(row[f"{measure}_{name}"])
            record[f"{measure}_share"] = queries._nan_to_none(row[f"{measure}_share"])
        result.append(record)
    return result


def national_report(fiscal_year: int, facilities: list) -> NationalReport:
    """The report over `facilities` (in national order), for one fiscal year."""
    codes = [f.code for f in facilities]
    counts = comparison.yearly_counts(fiscal_year)
    counts = counts[counts["facility_code"].isin(codes)]
    year = counts[counts["fiscal_year"] == fiscal_year].drop(columns="fiscal_year").reset_index(drop=True)
    rates = rates_from_counts(year, min_n=MIN_N)
    summaries = {}
    for measure in MEASURES:
        summary = national_summary(rates, measure)
        summaries[measure] = {**summary, **national_report_sentences(summary, measure)}

    attributes = pd.DataFrame({
        "facility_code": codes,
        "operator_kind": [f.operator_kind for f in facilities],
        "target_group": [list(f.target_groups or []) or [UNRESTRICTED] for f in facilities],
    })
    grouped = rates.merge(attributes, on="facility_code", how="left")
    by_operator = _group_rows(group_summary(grouped, "operator_kind"), "operator_kind", OPERATOR_KINDS)
    # A facility with several target groups counts in each (the seed's 「重複計上」).
    by_target = _group_rows(group_summary(grouped.explode("target_group"), "target_group"), "target_group",
                            {**TARGET_GROUP_LABELS, UNRESTRICTED: UNRESTRICTED_LABEL})

    changes = comparison.changes_from_counts(counts, fiscal_year, codes)
    rests = comparison.rest_from_counts(counts, fiscal_year)
    answered = set(counts["facility_code"])
    rows = [{"facility": f, "change": changes[f.code],
             "rest": rests.get(f.code) or comparison.empty_record(comparison.REST_FIELDS)}
            for f in facilities if f.code in answered]
    run = queries.latest_run(db.engine)
    return NationalReport(
        fiscal_year=fiscal_year,
        summaries=summaries,
        totals=queries._totals_record(year) if not year.empty else queries._empty_rate_record(),
        changes={measure: comparison.national_change(counts, fiscal_year, measure) for measure in MEASURES},
        by_operator=by_operator,
        by_target_group=by_target,
        facilities=rows,
        achievement=achievement.national_achievement(fiscal_year, [f.id for f in facilities]),
        voices=voices.voices(run, facilities, fiscal_year),
        n_facilities=len(facilities),
    )
