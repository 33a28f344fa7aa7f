"""Time helpers: store UTC, show Asia/Tokyo, fiscal years (年度) run April–March."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

# The column defaults' clock, so that the code and the database agree on "now".
from survey_schema.models import utcnow  # noqa: F401

TOKYO = ZoneInfo("Asia/Tokyo")


def to_utc_naive(moment: datetime) -> datetime:
    """Convert an aware datetime to naive UTC; naive input is taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def to_tokyo(moment_utc: datetime) -> datetime:
    """Convert a naive UTC datetime to an aware Asia/Tokyo one for display."""
    return moment_utc.replace(tzinfo=timezone.utc).astimezone(TOKYO)


def fiscal_year_of(day: date) -> int:
    """Return the Japanese fiscal year (年度) a calendar day belongs to."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_of_utc(moment_utc: datetime) -> int:
    """Return the fiscal year of a naive UTC moment, judged on the Tokyo calendar."""
    return fiscal_year_of(to_tokyo(moment_utc).date())


def era_year(number: int) -> str:
    """Year of an era as written in Japanese: 元 for the first year (令和元年度, not 令和1年度)."""
    return "元" if number == 1 else str(number)


def fiscal_year_label(fiscal_year: int) -> str:
    """Return e.g. '2012年度（平成24年度）', '2019年度（令和元年度）'; '1988年度' before Heisei.

    The one formatter of fiscal years: pages, exports and the PDF all call it.
    """
    if 1989 <= fiscal_year <= 2018:
        return f"{fiscal_year}年度（平成{era_year(fiscal_year - 1988)}年度）"
    if fiscal_year >= 2019:
        return f"{fiscal_year}年度（令和{era_year(fiscal_year - 2018)}年度）"
    return f"{fiscal_year}年度"
