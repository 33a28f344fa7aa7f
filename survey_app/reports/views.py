"""Report pages: the overview of every facility a user may see, and one facility's report."""
import re

from flask import g, render_template, request

from analysis.masking import mask_personal_data

from ..audit import record
from ..auth import (accessible_facilities, current_user, facility_or_404, login_required,
                    roles_required)
from ..auth.access import REPORT_ROLES, forbidden_page
from ..inputs import int_arg
from ..models import CHANNELS, OPERATOR_KINDS
from ..questionnaire import ESTABLISHMENT, RESPONDENT_GROUP, SATISFACTION
from ..fiscal_years import (FIRST_FISCAL_YEAR, current_fiscal_year, default_fiscal_year,
                           year_choices, years_with_data)
from ..prefectures import sorted_prefectures
from ..timeutil import fiscal_year_label, to_tokyo, utcnow
from . import (achievement, bp, channels, charts, comparison, devices, exports, national, queries,
               voices)

GROUP_LABELS = {choice.value: choice.label for choice in RESPONDENT_GROUP.choices}
MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
THEME_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
SEARCH_MAX_LENGTH = 100


@bp.before_request
def _report_readers_only():
    """Clerks type in paper answers and nothing else: no report, export or national figure."""
    if current_user.is_authenticated and current_user.role not in REPORT_ROLES:
        return forbidden_page()


def report_years() -> list[int]:
    """Years with answers or targets of the facilities the user may see (cached per request)."""
    if "report_years" not in g:
        ids = [f.id for f in accessible_facilities()] if restricted() else None
        g.report_years = years_with_data(ids)
    return g.report_years


def fiscal_year_arg() -> int:
    """The `fy` query parameter; when missing or out of range, the newest year worth showing."""
    value = int_arg("fy")
    if value is None or not FIRST_FISCAL_YEAR <= value <= current_fiscal_year() + 1:
        return default_fiscal_year(report_years())
    return value


def fiscal_year_choices(selected: int) -> list[tuple[int, str]]:
    return year_choices(report_years(), selected)


def overview_filters(facilities) -> tuple[str | None, str | None]:
    prefecture = request.args.get("prefecture") or None
    if prefecture not in {f.prefecture for f in facilities}:
        prefecture = None
    operator_kind = request.args.get("operator_kind") or None
    if operator_kind not in OPERATOR_KINDS:
        operator_kind = None
    return prefecture, operator_kind


def filtered_facilities():
    """The facilities the user may see, narrowed by the prefecture/operator filters."""
    visible = accessible_facilities()
    prefecture, operator_kind = overview_filters(visible)
    shown = [f for f in visible
             if (prefecture is None or f.prefecture == prefecture)
             and (operator_kind is None or f.operator_kind == operator_kind)]
    return visible, shown, prefecture, operator_kind


def restricted() -> bool:
    """Managers see only their facilities: their queries, themes and words are limited to them."""
    return current_user.role == "manager"


def build_overview(fiscal_year: int, with_themes: bool = True):
    visible, shown, prefecture, operator_kind = filtered_facilities()
    data = queries.overview(fiscal_year, shown, restricted=restricted(),
                            prefecture=prefecture, operator_kind=operator_kind,
                            with_themes=with_themes)
    data.achievement = achievement.overview_achievement(fiscal_year, shown)
    data.voices = voices.voices(data.run, shown, fiscal_year, with_quotes=with_themes)
    data.changes = comparison.year_on_year(fiscal_year, shown, restricted=restricted(),
                                           current=data.counts())
    return visible, data, prefecture, operator_kind


@bp.app_template_filter("report_percent")
def report_percent(value, digits: int = 1) -> str:
    return charts.percent(value, digits)


@bp.app_template_filter("report_points")
def report_points(value, unit: bool = True) -> str:
    return charts.points(value, unit=unit)


@bp.app_template_filter("report_tokyo_time")
def report_tokyo_time(moment) -> str:
    return to_tokyo(moment).strftime("%Y年%-m月%-d日 %H:%M") if moment else ""


@bp.app_template_filter("report_mask")
def report_mask(text) -> str:
    # Returns plain str: Jinja's autoescape still escapes it.
    return mask_personal_data(text)


@bp.app_template_filter("report_month")
def report_month(month: str) -> str:
    return f"{month[:4]}年{int(month[5:7])}月" if month else ""


@bp.app_template_filter("report_float")
def report_float(value) -> str:
    """Full-precision number for data-* attributes (tests compare them with the analysis)."""
    return "" if value is None else repr(float(value))


@bp.get("/")
@login_required
def index():
    """The overview: every visible facility's figures for one fiscal year."""
    fiscal_year = fiscal_year_arg()
    visible, data, prefecture, operator_kind = build_overview(fiscal_year)
    export_args = {"fy": fiscal_year, "prefecture": prefecture, "operator_kind": operator_kind}
    page = render_template(
        "reports/index.html", data=data, fiscal_year=fiscal_year,
        fiscal_year_label=fiscal_year_label(fiscal_year),
        fiscal_years=fiscal_year_choices(fiscal_year),
        prefectures=sorted_prefectures(f.prefecture for f in visible),
        prefecture=prefecture, operator_kind=operator_kind, operator_kinds=OPERATOR_KINDS,
        export_args={k: v for k, v in export_args.items() if v}, charts=charts,
        floor=charts.axis_floor([row.figures["satisfaction_low"] for row in data.rows]),
        min_n=queries.MIN_N, channels=channels.channel_mix([row.facility.id for row in data.rows], fiscal_year))
    # Recorded after rendering: the audit commit would expire every loaded facility.
    record("report.view", f"overview fy={fiscal_year}")
    return page


def comment_filters(fiscal_year: int) -> queries.CommentFilters:
    theme_id = request.args.get("theme") or None
    if theme_id and not THEME_ID_PATTERN.match(theme_id):
        theme_id = None
    month = request.args.get("month") or None
    if month and (not MONTH_PATTERN.match(month) or month not in queries.fiscal_year_months(fiscal_year)):
        month = None
    rating = int_arg("rating")
    if rating not in (1, 2, 3, 4):
        rating = None
    text = (request.args.get("q") or "").strip()[:SEARCH_MAX_LENGTH] or None
    page = int_arg("page") or 1
    return queries.CommentFilters(theme_id=theme_id, month=month, rating=rating, text=text, page=max(page, 1),
                                  with_no_comment=request.args.get("all") == "1",
                                  channel=channels.channel_arg())


def facility_report(facility, fiscal_year: int) -> dict:
    """Every figure of one facility's report (the page and the PDF show the same)."""
    monthly = queries.facility_counts(facility, fiscal_year, ("month",))
    figures = queries._totals_record(monthly) if not monthly.empty else queries._empty_rate_record()
    months = queries.monthly_series_from_counts(monthly, fiscal_year)
    satisfaction_counts, establishment_counts = queries.answer_distribution(facility, fiscal_year)
    groups = queries.group_breakdown(facility, fiscal_year)
    for group in groups:
        group["label"] = GROUP_LABELS.get(group["group"], "未回答") if group["group"] else "未回答"
    order = list(GROUP_LABELS) + [None]
    groups.sort(key=lambda g: order.index(g["group"]) if g["group"] in order else len(order))
    national = queries.national_comparison(fiscal_year)
    run = queries.latest_run(queries.db.engine)
    themes = queries.facility_themes(run, facility, fiscal_year, restricted=restricted())
    comparison_rows = [
        {"label": "この施設", "rate": figures["satisfaction_rate"], "low": figures["satisfaction_low"],
         "high": figures["satisfaction_high"], "n": figures["n"], "highlight": True},
        {"label": "全施設（全国）", "rate": national["figures"]["satisfaction_rate"],
         "low": national["figures"]["satisfaction_low"], "high": national["figures"]["satisfaction_high"],
         "n": national["figures"]["n"]},
    ]
    establishment_rows = [
        {"label": "この施設", "rate": figures["establishment_rate"], "low": figures["establishment_low"],
         "high": figures["establishment_high"], "n": figures["n_establishment"], "highlight": True},
        {"label": "全施設（全国）", "rate": national["figures"]["establishment_rate"],
         "low": national["figures"]["establishment_low"],
         "high": national["figures"]["establishment_high"], "n": national["figures"]["n_establishment"]},
    ]
    group_rows = [{"label": g["label"], "rate": g["satisfaction_rate"], "low": g["satisfaction_low"],
                   "high": g["satisfaction_high"], "n": g["n"]} for g in groups]
    return {
        "facility": facility, "fiscal_year": fiscal_year,
        "fiscal_year_label": fiscal_year_label(fiscal_year),
        "figures": figures, "months": months, "groups": groups, "national": national,
        "run": run, "themes": themes["themes"], "n_themed_comments": themes["n_comments"],
        "satisfaction_counts": satisfaction_counts, "establishment_counts": establishment_counts,
        "comparison_rows": comparison_rows, "establishment_rows": establishment_rows,
        "group_rows": group_rows, "satisfaction_question": SATISFACTION,
        "establishment_question": ESTABLISHMENT, "charts": charts, "min_n": queries.MIN_N,
        "generated_at": utcnow(), "targets": achievement.facility_targets(facility, fiscal_year),
        "met_mark": achievement.met_mark, "voices": voices.voices(run, [facility], fiscal_year),
        "comparison": comparison.facility_comparison(facility, fiscal_year),
        "previous_year_label": fiscal_year_label(fiscal_year - 1),
    }


@bp.get("/<code>")
@login_required
def facility(code: str):
    """One facility's report: trend, distributions, groups, themes and its comments."""
    facility = facility_or_404(code)
    fiscal_year = fiscal_year_arg()
    context = facility_report(facility, fiscal_year)
    filters = comment_filters(fiscal_year)
    run_id = context["run"]["results_run_id"] if context["run"] else None
    comments = queries.search_comments(facility, fiscal_year, filters, run_id)
    if restricted():  # the theme filter offers only themes of this facility's comments
        labels = {theme["theme_id"]: theme["label"] for theme in context["themes"]}
    else:
        labels = queries.theme_labels(run_id) if run_id else {}
    page = render_template(
        "reports/facility.html", **context, filters=filters, comments=comments,
        theme_labels=labels, fiscal_years=fiscal_year_choices(fiscal_year),
        month_choices=queries.fiscal_year_months(fiscal_year),
        group_labels=GROUP_LABELS, devices=devices.facility_devices(facility),
        channels=channels.channel_mix([facility.id], fiscal_year), channel_labels=CHANNELS)
    record("report.view", f"{facility.code} fy={fiscal_year}")
    return page


# The national report pools every facility: for the roles that see them all.
NATIONAL_ROLES = ("admin", "analyst")


def national_context(fiscal_year: int) -> dict:
    return {"report": national.national_report(fiscal_year, accessible_facilities()),
            "charts": charts, "min_n": queries.MIN_N}


@bp.get("/national", endpoint="national")
@roles_required(*NATIONAL_ROLES)
def national_page():
    """The national report in the ministry's form: headline, breakdowns, targets, voices."""
    fiscal_year = fiscal_year_arg()
    page = render_template("reports/national.html", **national_context(fiscal_year),
                           fiscal_years=fiscal_year_choices(fiscal_year))
    record("report.view", f"national fy={fiscal_year}")
    return page


@bp.get("/export/national.pdf")
@roles_required(*NATIONAL_ROLES)
def export_national_pdf():
    fiscal_year = fiscal_year_arg()
    context = national_context(fiscal_year)
    record("report.export", f"national.pdf fy={fiscal_year}")
    return exports.national_pdf_response(context)


@bp.get("/export/national.xlsx")
@roles_required(*NATIONAL_ROLES)
def export_national_xlsx():
    fiscal_year = fiscal_year_arg()
    context = national_context(fiscal_year)
    record("report.export", f"national.xlsx fy={fiscal_year}")
    return exports.national_xlsx_response(context["report"])


@bp.get("/export/overview.csv")
@login_required
def export_overview_csv():
    fiscal_year = fiscal_year_arg()
    _visible, data, _prefecture, _kind = build_overview(fiscal_year)
    record("report.export", f"overview.csv fy={fiscal_year}")
    return exports.overview_csv_response(data)


@bp.get("/export/overview.xlsx")
@login_required
def export_overview_xlsx():
    fiscal_year = fiscal_year_arg()
    _visible, data, _prefecture, _kind = build_overview(fiscal_year, with_themes=False)
    record("report.export", f"overview.xlsx fy={fiscal_year}")
    return exports.overview_xlsx_response(data)


@bp.get("/<code>/responses.csv")
@login_required
def export_responses_csv(code: str):
    facility = facility_or_404(code)
    fiscal_year = fiscal_year_arg()
    channel = channels.channel_arg()
    record("report.export", f"{facility.code} responses.csv fy={fiscal_year}" + (f" channel={channel}" if channel else ""))
    return exports.responses_csv_response(facility, fiscal_year, channel)


@bp.get("/<code>/comments.csv")
@login_required
def export_comments_csv(code: str):
    """The comments the list shows for these filters (every page), masked."""
    facility = facility_or_404(code)
    fiscal_year = fiscal_year_arg()
    filters = comment_filters(fiscal_year)
    run = queries.latest_run(queries.db.engine)
    run_id = run["results_run_id"] if run else None
    labels = queries.theme_labels(run_id, [facility.id] if restricted() else None) if run_id else {}
    record("report.export", f"{facility.code} comments.csv fy={fiscal_year}")
    return exports.comments_csv_response(facility, fiscal_year, filters, run_id, labels)


@bp.get("/<code>/report.pdf")
@login_required
def export_report_pdf(code: str):
    facility = facility_or_404(code)
    fiscal_year = fiscal_year_arg()
    context = facility_report(facility, fiscal_year)
    record("report.export", f"{facility.code} report.pdf fy={fiscal_year}")
    return exports.report_pdf_response(context)


@bp.errorhandler(404)
def not_found(_error):
    return render_template("auth/message.html", title="ページが見つかりません",
                           text="お探しの施設のレポートは見つかりませんでした。"), 404
