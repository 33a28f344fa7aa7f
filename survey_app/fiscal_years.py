"""Which fiscal years (年度) the year pickers offer: those with answers or targets."""
import sqlalchemy as sa

from .extensions import db
from .models import Response, Target
from .timeutil import fiscal_year_label, fiscal_year_of, to_tokyo, utcnow

FIRST_FISCAL_YEAR = 2011  # the joint counters started in 平成23年度


def current_fiscal_year() -> int:
    return fiscal_year_of(to_tokyo(utcnow()).date())


def years_with_data(facility_ids: list[int] | None = None) -> list[int]:
    """Fiscal years with an answer or a target (of these facilities; all when None), newest first.

    One EXISTS per candidate year, so each is an index seek however many answers there are.
    """
    candidates = range(FIRST_FISCAL_YEAR, current_fiscal_year() + 2)
    if facility_ids is not None and not facility_ids:
        return []
    checks, years = [], []
    for year in candidates:
        for model in (Response, Target):
            condition = model.fiscal_year == year
            if facility_ids is not None:
                condition = sa.and_(condition, model.facility_id.in_(facility_ids))
            checks.append(sa.exists().where(condition))
            years.append(year)
    found = db.session.execute(sa.select(*checks)).one()
    return sorted({year for year, present in zip(years, found) if present}, reverse=True)


def default_fiscal_year(years: list[int]) -> int:
    """The year shown when none is asked for: the current one if it has data, else the newest."""
    current = current_fiscal_year()
    if current in years or not years:
        return current
    return years[0]


def year_choices(years: list[int], selected: int) -> list[tuple[int, str]]:
    """(year, label) for a picker, newest first; the shown year is offered even without data."""
    return [(year, fiscal_year_label(year)) for year in sorted(set(years) | {selected}, reverse=True)]
