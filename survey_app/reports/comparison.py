"""Year on year and against the rest of the country, shaped for the report pages and exports.

Counts come from `analysis.store.aggregate_counts` (GROUP BY in the database), the rates, the
differences and their intervals from `analysis.comparison`; nothing is computed here.
"""
from __future__ import annotations

import pandas as pd

from analysis.comparison import rate_change, versus_rest
from analysis.satisfaction import MIN_N
from analysis.store import aggregate_counts

from ..extensions import db
from .queries import _nan_to_none

CHANGE_FIELDS = ("n", "successes", "rate", "low", "high", "previous_n", "previous_successes",
                 "previous_rate", "previous_low", "previous_high", "change", "change_low",
                 "change_high", "significant", "suppressed")
REST_FIELDS = ("n", "successes", "rate", "low", "high", "rest_n", "rest_successes", "rest_rate",
               "rest_low", "rest_high", "difference", "difference_low", "difference_high",
               "significant", "suppressed")
COUNT_FIELDS = {"n", "successes", "previous_n", "previous_successes", "rest_n", "rest_successes"}


def _record(row: dict, fields) -> dict:
    record = {name: _nan_to_none(row[name]) for name in fields}
    for name in COUNT_FIELDS.intersection(fields):
        record[name] = int(record[name] or 0)
    record["significant"] = None if record["significant"] is None else bool(record["significant"])
    record["suppressed"] = bool(record["suppressed"])
    return record


def empty_record(fields) -> dict:
    record = {name: None for name in fields}
    record.update({name: 0 for name in COUNT_FIELDS.intersection(fields)})
    record["suppressed"] = True
    return record


def yearly_counts(fiscal_year: int, codes: list[str] | None = None) -> pd.DataFrame:
    """Counts per facility of `fiscal_year` and the year before (of `codes`; all when None)."""
    return aggregate_counts(db.engine, by=("facility_code", "fiscal_year"),
                            fiscal_years=[fiscal_year - 1, fiscal_year], facility_codes=codes)


def changes_from_counts(counts: pd.DataFrame, fiscal_year: int, codes: list[str],
                        measure: str = "satisfaction") -> dict[str, dict]:
    """{code: year-on-year record} for each of `codes` (suppressed when it has no answers)."""
    counts = counts[counts["facility_code"].isin(codes)]
    table = rate_change(counts, fiscal_year, measure=measure, min_n=MIN_N) if not counts.empty else None
    found = ({row["facility_code"]: _record(row, CHANGE_FIELDS) for row in table.to_dict("records")}
             if table is not None else {})
    return {code: found.get(code) or empty_record(CHANGE_FIELDS) for code in codes}


def year_on_year(fiscal_year: int, facilities, *, restricted: bool,
                 current: pd.DataFrame | None = None) -> dict[str, dict]:
    """{code: this year, the year before and the change} of the listed facilities.

    `restricted` (a manager): the query reads only the listed facilities. `current`: this
    year's counts per facility_code when the caller has them already (the overview), so that
    only the year before is read.
    """
    codes = [f.code for f in facilities]
    if not codes:
        return {}
    if current is None:
        counts = yearly_counts(fiscal_year, codes if restricted else None)
    else:
        previous = aggregate_counts(db.engine, by=("facility_code", "fiscal_year"),
                                    fiscal_years=[fiscal_year - 1],
                                    facility_codes=codes if restricted else None)
        counts = pd.concat([previous, current.assign(fiscal_year=fiscal_year)], ignore_index=True)
    return changes_from_counts(counts, fiscal_year, codes)


def national_change(counts: pd.DataFrame, fiscal_year: int, measure: str = "satisfaction") -> dict:
    """The pooled rate of every facility, this year against the year before."""
    if counts.empty:
        return empty_record(CHANGE_FIELDS)
    table = rate_change(counts, fiscal_year, by=(), measure=measure, min_n=MIN_N)
    return _record(table.iloc[0].to_dict(), CHANGE_FIELDS)


def rest_from_counts(counts: pd.DataFrame, fiscal_year: int) -> dict[str, dict]:
    """{code: the facility against all other facilities pooled} in `fiscal_year`."""
    year = counts[counts["fiscal_year"] == fiscal_year]
    if year.empty:
        return {}
    return {row["facility_code"]: _record(row, REST_FIELDS)
            for row in versus_rest(year, min_n=MIN_N).to_dict("records")}


def facility_comparison(facility, fiscal_year: int) -> dict:
    """One facility's page: its change since last year and its difference from the rest.

    The rest of the country is pooled from every facility's counts, as the page's 全国 figure
    already is; only the facility's own answers are shown one by one.
    """
    counts = yearly_counts(fiscal_year)
    return {
        "change": changes_from_counts(counts, fiscal_year, [facility.code])[facility.code],
        "rest": rest_from_counts(counts, fiscal_year).get(facility.code) or empty_record(REST_FIELDS),
        "previous_year": fiscal_year - 1,
    }
