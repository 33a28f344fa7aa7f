"""Exports: CSV (UTF-8 with BOM, for Excel), an Excel workbook and a PDF report per facility.

The same access rules and masking apply as on the pages: views pass in only what the user may
see, and every comment goes through `mask_personal_data`. Cells that a spreadsheet would run
as a formula (starting with = + - @) get a leading apostrophe, in CSV and Excel alike, and
every text cell of a workbook is written as a text cell (`_cell`).
"""
import csv
import io
import re

import pandas as pd
from flask import Response, render_template, stream_with_context
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analysis.masking import mask_personal_data

from ..models import CHANNELS, OPERATOR_KINDS
from ..paper.sheets import shown as shown_sheet_number
from ..questionnaire import ESTABLISHMENT, RESPONDENT_GROUP, SATISFACTION, SERVICES
from ..targets.queries import achievement_for
from ..timeutil import fiscal_year_label, to_tokyo, utcnow
from . import charts, queries, voices
from .achievement import STATUS_LABELS, met_mark


BOM = "\ufeff"
SUPPRESSED_TEXT = "回答数不足"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
GROUP_LABELS = {choice.value: choice.label for choice in RESPONDENT_GROUP.choices}
SERVICE_LABELS = {choice.value: choice.label for choice in SERVICES.choices}

OVERVIEW_HEADERS = (
    "施設コード", "施設名", "都道府県", "自治体", "運営主体", "年度", "回答数",
    "満足（満足＋まあ満足）", "満足度（%）", "満足度 95%信頼区間 下限（%）", "満足度 95%信頼区間 上限（%）",
    "満足度90%以上", "「できてよかった」回答数", "できてよかった（そう思う＋まあそう思う）",
    "「できてよかった」の割合（%）", "同 下限（%）", "同 上限（%）", "「できてよかった」90%以上", "主なテーマ",
    "年度目標の達成状況", "達成した指標数", "判定した指標数",
    "評価する声の多いテーマ", "充実を求める意見の多いテーマ", "未分類のご意見（件）",
)
VOICE_HEADERS = ("施設コード", "施設名", "テーマコード", "テーマ", "評価する声（人）",
                 "充実を求める意見（人）", "件数（未分類）")
TARGET_HEADERS = ("施設コード", "施設名", "年度", "指標", "単位", "目標", "実績", "達成", "施設の達成状況", "備考")
RESPONSE_HEADERS = (
    "回答ID", "施設コード", "施設名", "回答日時（日本時間）", "年度", "満足度（1〜4）", "満足度",
    "施設ができてよかったか（1〜4）", "施設ができてよかったか", "支援対象者", "利用したサービス",
    "回答方法", "調査票番号", "ご意見・ご要望（個人情報は伏せ字）",
)


def safe_cell(value):
    """Keep text from being run as a spreadsheet formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _percent_cell(value):
    return SUPPRESSED_TEXT if value is None else round(value * 100, 1)


def _mark(meets: bool, rate) -> str:
    if rate is None:
        return SUPPRESSED_TEXT
    return "○" if meets else ""


def csv_line(values) -> str:
    """One CSV line (CRLF), formula-looking cells made inert; also the audit log's export."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return buffer.getvalue()


def attachment(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def overview_rows(data: queries.Overview):
    """One list of cell values per facility, in OVERVIEW_HEADERS order."""
    by_facility = data.achievement.by_facility if data.achievement else {}
    voice_counts = voices.by_facility(data.run, [row.facility for row in data.rows], data.fiscal_year)
    for row in data.rows:
        f, figures = row.facility, row.figures
        goal = by_facility.get(f.id)
        heard = voice_counts.get(f.code)
        yield [
            f.code, f.name, f.prefecture, f.municipality, OPERATOR_KINDS.get(f.operator_kind, f.operator_kind),
            fiscal_year_label(data.fiscal_year), figures["n"], figures["satisfied"],
            _percent_cell(figures["satisfaction_rate"]), _percent_cell(figures["satisfaction_low"]),
            _percent_cell(figures["satisfaction_high"]),
            _mark(figures["meets_target"], figures["satisfaction_rate"]),
            figures["n_establishment"], figures["establishment_approved"],
            _percent_cell(figures["establishment_rate"]), _percent_cell(figures["establishment_low"]),
            _percent_cell(figures["establishment_high"]),
            _mark(figures["establishment_meets_target"], figures["establishment_rate"]),
            "、".join(theme["label"] for theme in row.themes),
            goal["status_label"] if goal else "", goal["n_met"] if goal and goal["status"] else "",
            goal["n_indicators"] if goal and goal["status"] else "",
            _top_voices(heard, "praise"), _top_voices(heard, "request"),
            heard["unclassified"] if heard else "",
        ]


def _top_voices(heard: dict | None, polarity: str) -> str:
    """「待ち時間（17人）、…」: the facility's most-mentioned themes of one polarity."""
    if not heard:
        return ""
    return "、".join(f"{theme['label']}（{theme['count']:,}人）"
                    for theme in heard[polarity][:voices.TOP_VOICE_THEMES])


def overview_csv_response(data: queries.Overview) -> Response:
    lines = [BOM + csv_line(OVERVIEW_HEADERS)]
    lines.extend(csv_line(values) for values in overview_rows(data))
    return Response("".join(lines), mimetype="text/csv; charset=utf-8",
                    headers=attachment(f"overview_{data.fiscal_year}.csv"))


def response_values(facility, row) -> list:
    services = row.services if isinstance(row.services, list) else []
    return [
        row.id, facility.code, facility.name, to_tokyo(row.submitted_at).strftime("%Y-%m-%d %H:%M"),
        row.fiscal_year, row.satisfaction, SATISFACTION.label_of(row.satisfaction) or "",
        row.establishment, ESTABLISHMENT.label_of(row.establishment) or "",
        GROUP_LABELS.get(row.respondent_group, "") if row.respondent_group else "",
        "、".join(SERVICE_LABELS.get(s, s) for s in services),
        CHANNELS.get(row.channel, row.channel), shown_sheet_number(row.sheet_number) if row.sheet_number else "",
        mask_personal_data(row.comment),
    ]


COMMENT_HEADERS = ("回答ID", "回答日時（日本時間）", "満足度", "支援対象者", "テーマ",
                   "ご意見・ご要望（個人情報は伏せ字）")


def comments_csv_response(facility, fiscal_year: int, filters, run_id, theme_labels: dict) -> Response:
    """Exactly the comments the filtered list shows (all its pages), masked, newest first."""

    def generate():
        yield BOM + csv_line(COMMENT_HEADERS)
        for row, theme_id in queries.iter_comments(facility, fiscal_year, filters, run_id):
            yield csv_line([
                row.id, to_tokyo(row.submitted_at).strftime("%Y-%m-%d %H:%M"),
                SATISFACTION.label_of(row.satisfaction) or "",
                GROUP_LABELS.get(row.respondent_group, "") if row.respondent_group else "",
                theme_labels.get(theme_id, theme_id or ""), mask_personal_data(row.comment)])

    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers=attachment(f"{facility.code}_comments_{fiscal_year}.csv"))


def responses_csv_response(facility, fiscal_year: int, channel: str | None = None) -> Response:
    """Stream every response of a facility and year (of one channel), a batch of rows per query."""

    def generate():
        yield BOM + csv_line(RESPONSE_HEADERS)
        buffer = []
        for row in queries.iter_responses(facility, fiscal_year, channel=channel):
            buffer.append(csv_line(response_values(facility, row)))
            if len(buffer) >= 500:
                yield "".join(buffer)
                buffer = []
        if buffer:
            yield "".join(buffer)

    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers=attachment(f"{facility.code}_responses_{fiscal_year}"
                                       f"{'_' + channel if channel else ''}.csv"))


# ---------------------------------------------------------------------------- Excel

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="0B5394")
PERCENT_FORMAT = "0.0"


def _cell(sheet, row: int, column: int, value):
    """Write one cell: text always as text, never as a formula or an error value like #N/A."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        # Control characters cannot be stored in a workbook at all.
        cell.value = safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _sheet_title(name: str, used: set[str]) -> str:
    base = SHEET_NAME_FORBIDDEN.sub("・", name).strip("'")[:31] or "施設"
    title, number = base, 2
    while title.lower() in used:
        suffix = f"({number})"
        title = base[:31 - len(suffix)] + suffix
        number += 1
    used.add(title.lower())
    return title


def _write_table(sheet, headers, rows, start_row: int = 1, widths=None):
    for column, header in enumerate(headers, start=1):
        cell = _cell(sheet, start_row, column, header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            _cell(sheet, start_row + offset, column, value)
    sheet.freeze_panes = sheet.cell(row=start_row + 1, column=1)
    for column, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def overview_workbook(data: queries.Overview) -> Workbook:
    """概要 (one row per facility), one sheet per facility (monthly figures) and テーマ."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "概要"
    title = _cell(summary, 1, 1, f"利用者アンケート 集計（{fiscal_year_label(data.fiscal_year)}）")
    title.font = Font(bold=True, size=14)
    _cell(summary, 2, 1, data.satisfaction_summary["text"] + "／" + data.establishment_summary["text"])
    _cell(summary, 3, 1, f"満足度は「満足」「まあ満足」の割合。回答{queries.MIN_N}件未満の施設は「{SUPPRESSED_TEXT}」。"
                         f"出力日時 {to_tokyo(utcnow()):%Y-%m-%d %H:%M}（日本時間）")
    _write_table(summary, OVERVIEW_HEADERS, overview_rows(data), start_row=5,
                 widths=[30, 34, 10, 14, 10, 22, 9, 12, 10, 12, 12, 10, 12, 12, 12, 10, 10, 10, 40, 14, 10, 10])

    used = {"概要", "テーマ", "利用者の声", "年度目標"}
    month_headers = ("月", "回答数", "満足（満足＋まあ満足）", "満足度（%）", "下限（%）", "上限（%）",
                     "「できてよかった」回答数", "できてよかった", "「できてよかった」の割合（%）")
    for row in data.rows:
        sheet = workbook.create_sheet(_sheet_title(row.facility.name, used))
        title = _cell(sheet, 1, 1, f"{row.facility.name}（{fiscal_year_label(data.fiscal_year)}）")
        title.font = Font(bold=True, size=13)
        _cell(sheet, 2, 1, f"施設コード {row.facility.code}／{row.facility.place_label}")
        values = []
        for month in row.months:
            c = month["counts"]
            values.append([f"{month['month'][:4]}年{int(month['month'][5:7])}月", c["n"], c["satisfied"],
                           _percent_cell(c["satisfaction_rate"]), _percent_cell(c["satisfaction_low"]),
                           _percent_cell(c["satisfaction_high"]), c["n_establishment"],
                           c["establishment_approved"], _percent_cell(c["establishment_rate"])])
        f = row.figures
        values.append(["年度計", f["n"], f["satisfied"], _percent_cell(f["satisfaction_rate"]),
                       _percent_cell(f["satisfaction_low"]), _percent_cell(f["satisfaction_high"]),
                       f["n_establishment"], f["establishment_approved"],
                       _percent_cell(f["establishment_rate"])])
        _write_table(sheet, month_headers, values, start_row=4, widths=[12, 9, 14, 11, 10, 10, 14, 14, 16])
        for cell in sheet[4 + len(values)]:
            cell.font = Font(bold=True)

    themes = workbook.create_sheet("テーマ")
    theme_rows = []
    if data.run:
        all_themes = queries.top_themes_by_facility(data.run["results_run_id"], data.fiscal_year,
                                                    [row.facility.id for row in data.rows], limit=None,
                                                    restricted=data.restricted)
        for row in data.rows:
            for theme in all_themes.get(row.facility.id, []):
                theme_rows.append([row.facility.code, row.facility.name, theme["theme_id"], theme["label"],
                                   theme["count"], round(theme["share"] * 100, 1)])
    else:
        _cell(themes, 1, 1, "テーマ分析の結果はまだありません（survey-analysis run を実行してください）。")
    _write_table(themes, ("施設コード", "施設名", "テーマコード", "テーマ", "件数", "意見に占める割合（%）"),
                 theme_rows, start_row=3 if not data.run else 1, widths=[30, 34, 12, 36, 8, 12])
    _write_voices_sheet(workbook.create_sheet("利用者の声"), data)
    _write_targets_sheet(workbook.create_sheet("年度目標"), data)
    return workbook


def _write_voices_sheet(sheet, data: queries.Overview) -> None:
    """Per facility and theme: respondents who praise and who ask, in the year and each month."""
    facilities = [row.facility for row in data.rows]
    if not data.run:
        _cell(sheet, 1, 1, "テーマ分析の結果はまだありません（survey-analysis run を実行してください）。")
        return
    heard = voices.by_facility(data.run, facilities, data.fiscal_year)
    if not voices.run_has_mentions(data.run["results_run_id"]):
        _cell(sheet, 1, 1, "この分析には「評価する声」と「充実を求める意見」の区別が記録されていません。"
                           "テーマ分析をもう一度実行すると出力されます。")
        start_row = 3
    else:
        start_row = 1
    months = queries.fiscal_year_months(data.fiscal_year)
    monthly: dict[tuple, int] = {}
    for row in voices.monthly_rows(data.run, facilities, data.fiscal_year).itertuples(index=False):
        monthly[(row.facility_code, row.theme_id, row.month, row.polarity)] = int(row.respondents)
    headers = list(VOICE_HEADERS)
    for month in months:
        for polarity, label in voices.POLARITY_LABELS.items():
            headers.append(f"{month[:4]}年{int(month[5:7])}月 {label}")
    rows = []
    for facility in facilities:
        counts = heard.get(facility.code) or {"praise": [], "request": [], "unclassified": 0}
        themes: dict[str, dict] = {}
        for polarity in voices.POLARITY_LABELS:
            for theme in counts[polarity]:
                entry = themes.setdefault(theme["theme_id"], {"label": theme["label"], "praise": 0, "request": 0})
                entry[polarity] = theme["count"]
        for code, entry in sorted(themes.items(), key=lambda item: (-(item[1]["praise"] + item[1]["request"]),
                                                                     item[0])):
            values = [facility.code, facility.name, code, entry["label"], entry["praise"], entry["request"], None]
            for month in months:
                values.extend(monthly.get((facility.code, code, month, polarity), 0)
                              for polarity in voices.POLARITY_LABELS)
            rows.append(values)
        if counts["unclassified"]:
            rows.append([facility.code, facility.name, "", "未分類", None, None, counts["unclassified"]])
    _write_table(sheet, headers, rows, start_row=start_row, widths=[30, 34, 12, 36, 12, 14, 12])


def _write_targets_sheet(sheet, data: queries.Overview) -> None:
    facilities = {row.facility.id: row.facility for row in data.rows}
    targets = achievement_for(data.fiscal_year, list(facilities))
    rows = [[facilities[t.facility_id].code, facilities[t.facility_id].name, fiscal_year_label(t.fiscal_year),
             t.indicator_name, t.unit, t.target, None if pd.isna(t.result) else t.result,
             met_mark(None if pd.isna(t.met) else bool(t.met)),
             "" if pd.isna(t.status_label) else t.status_label, "" if pd.isna(t.note) else t.note]
            for t in targets.itertuples(index=False)]
    if not rows:
        _cell(sheet, 1, 1, f"{fiscal_year_label(data.fiscal_year)}の年度目標は登録されていません。")
        return
    _write_table(sheet, TARGET_HEADERS, rows, widths=[30, 34, 22, 24, 6, 10, 10, 6, 14, 40])


def overview_xlsx_response(data: queries.Overview) -> Response:
    buffer = io.BytesIO()
    overview_workbook(data).save(buffer)
    return Response(buffer.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=attachment(f"overview_{data.fiscal_year}.xlsx"))


# ---------------------------------------------------------------------------- national report

NATIONAL_GROUP_HEADERS = ("区分", "回答のあった施設", "満足度：回答10件以上の施設", "満足度：90%以上の施設",
                          "満足度：90%以上の施設の割合（%）", "「できてよかった」：回答10件以上の施設",
                          "「できてよかった」：90%以上の施設", "「できてよかった」：90%以上の施設の割合（%）",
                          "回答数", "満足度（%）", "満足度 下限（%）", "満足度 上限（%）")
NATIONAL_FACILITY_HEADERS = (
    "施設コード", "施設名", "都道府県", "運営主体", "回答数", "満足度（%）", "下限（%）", "上限（%）",
    "前年度の回答数", "前年度の満足度（%）", "前年度との差（ポイント）", "差の下限（ポイント）",
    "差の上限（ポイント）", "前年度との差の判定", "全国（ほかの全施設）の満足度（%）",
    "全国との差（ポイント）", "差の下限（ポイント）", "差の上限（ポイント）", "全国との差の判定")


def _points_cell(value):
    return SUPPRESSED_TEXT if value is None else round(value * 100, 1)


def _verdict(value, significant, up: str, down: str) -> str:
    if value is None:
        return SUPPRESSED_TEXT
    if not significant:
        return "誤差の範囲"
    return up if value > 0 else down


def _group_values(row: dict) -> list:
    values = [row["label"], row["facilities"]]
    for measure in ("satisfaction", "establishment"):
        values += [row[f"{measure}_eligible"], row[f"{measure}_meeting"],
                   _percent_cell(row[f"{measure}_share"])]
    return values + [row["n"], _percent_cell(row["satisfaction_rate"]),
                     _percent_cell(row["satisfaction_low"]), _percent_cell(row["satisfaction_high"])]


def national_facility_values(row: dict) -> list:
    f, c, r = row["facility"], row["change"], row["rest"]
    return [f.code, f.name, f.prefecture, f.operator_kind_label, c["n"], _percent_cell(c["rate"]),
            _percent_cell(c["low"]), _percent_cell(c["high"]), c["previous_n"],
            _percent_cell(c["previous_rate"]), _points_cell(c["change"]), _points_cell(c["change_low"]),
            _points_cell(c["change_high"]), _verdict(c["change"], c["significant"], "上昇", "低下"),
            _percent_cell(r["rest_rate"]), _points_cell(r["difference"]), _points_cell(r["difference_low"]),
            _points_cell(r["difference_high"]),
            _verdict(r["difference"], r["significant"], "全国より高い", "全国より低い")]


def national_workbook(report) -> Workbook:
    """全国集計 (the sentences and breakdowns), 施設別の比較, 年度目標 and 利用者の声."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "全国集計"
    title = _cell(sheet, 1, 1, f"一体的実施施設 利用者アンケート 全国集計（{report.fiscal_year_label}）")
    title.font = Font(bold=True, size=14)
    line = 2
    for measure in ("satisfaction", "establishment"):
        summary = report.summaries[measure]
        if summary["lead"]:
            _cell(sheet, line, 1, f"○ {summary['lead']}（{summary['detail']}）")
            line += 1
    change = report.changes["satisfaction"]
    _cell(sheet, line, 1, f"回答 {report.totals['n']:,}件、全体の満足度 {charts.percent(report.totals['satisfaction_rate'])}"
                          f"（前年度 {charts.percent(change['previous_rate'])}、差 {charts.points(change['change'])}"
                          f"：{_verdict(change['change'], change['significant'], '上昇', '低下')}）。"
                          f"回答{queries.MIN_N}件未満の施設は「{SUPPRESSED_TEXT}」として数えていません。"
                          f"出力日時 {to_tokyo(utcnow()):%Y-%m-%d %H:%M}（日本時間）")
    line += 2
    for heading, rows in (("運営主体別", report.by_operator), ("支援対象者別（重複計上）", report.by_target_group)):
        _cell(sheet, line, 1, heading).font = Font(bold=True)
        _write_table(sheet, NATIONAL_GROUP_HEADERS, [_group_values(row) for row in rows], start_row=line + 1)
        line += len(rows) + 3
    sheet.freeze_panes = None
    for column, width in enumerate([22, 12, 14, 14, 14, 16, 16, 16, 10, 10, 10, 10], start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width

    facilities = workbook.create_sheet("施設別の比較")
    _write_table(facilities, NATIONAL_FACILITY_HEADERS,
                 [national_facility_values(row) for row in report.facilities],
                 widths=[30, 34, 10, 10, 9, 10, 10, 10, 12, 12, 12, 10, 10, 12, 14, 12, 10, 10, 14])

    targets = workbook.create_sheet("年度目標")
    goal = report.achievement
    if goal["n_municipalities"]:
        _cell(targets, 1, 1, f"{report.fiscal_year_label}に{goal['text']}")
        rows = [[label, goal["municipalities"][key], goal["facilities"][key]]
                for key, label in STATUS_LABELS.items()]
        rows.append(["計", goal["n_municipalities"], goal["n_facilities"]])
        _write_table(targets, ("達成状況", "自治体", "施設"), rows, start_row=3, widths=[14, 10, 10])
        if goal["employments"]:
            _cell(targets, 3 + len(rows) + 2, 1, f"就職者数の実績：計{goal['employments']:,.0f}人")
    else:
        _cell(targets, 1, 1, f"{report.fiscal_year_label}の年度目標は、まだ判定できるものがありません。")

    heard = workbook.create_sheet("利用者の声")
    heard_voices = report.voices
    if not heard_voices.has_mentions:
        _cell(heard, 1, 1, "「評価する声」と「充実を求める意見」の区別のあるテーマ分析の結果はまだありません。")
    else:
        rows = []
        for polarity, label in voices.POLARITY_LABELS.items():
            for theme in heard_voices.top.get(polarity, []):
                rows.append([label, theme["label"], theme["count"], "／".join(theme["quotes"])])
        _write_table(heard, ("種類", "テーマ", "人数", "主な声（個人情報は伏せ字）"), rows, widths=[18, 30, 8, 100])
        start = len(rows) + 3
        _write_table(heard, ("テーマ", "評価する声（人）", "充実を求める意見（人）"),
                     [[t["label"], t["praise"], t["request"]] for t in heard_voices.themes], start_row=start)
    return workbook


def national_xlsx_response(report) -> Response:
    buffer = io.BytesIO()
    national_workbook(report).save(buffer)
    return Response(buffer.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=attachment(f"national_{report.fiscal_year}.xlsx"))


# ---------------------------------------------------------------------------- PDF

def html_to_pdf(html: str) -> bytes:
    """Print a self-contained page (the facility report, paper questionnaires) to PDF."""
    # Imported late: WeasyPrint loads pango, which the pages do not need.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # No file, network or other URL may be fetched.
    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def report_pdf(context: dict, template: str = "reports/pdf.html") -> bytes:
    return html_to_pdf(render_template(template, **context))


def report_pdf_response(context: dict) -> Response:
    facility = context["facility"]
    return Response(report_pdf(context), mimetype="application/pdf",
                    headers=attachment(f"{facility.code}_report_{context['fiscal_year']}.pdf"))



def national_pdf_response(context: dict) -> Response:
    return Response(report_pdf(context, "reports/national_pdf.html"), mimetype="application/pdf",
                    headers=attachment(f"national_{context['report'].fiscal_year}.pdf"))
