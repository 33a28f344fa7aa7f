"""Server-side SVG charts for the report pages and the PDF report.

Every chart is one inline ``<svg role="img">`` with a ``<title>``, a ``<desc>`` and an
``aria-label`` that say in Japanese what it shows, so screen readers and the printed page get
the figures too. Only SVG presentation attributes are used (no ``style=``): the pages run under
a Content-Security-Policy without inline styles. All text passes through `escape`.
"""
import itertools
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from ..questionnaire import ESTABLISHMENT, SATISFACTION

TARGET_RATE = 0.9
FONT = "Noto Sans CJK JP, Noto Sans JP, sans-serif"
INK = "#1b1b1b"
MUTED = "#4a4f55"
GRID = "#d3d8de"
ACCENT = "#0b5394"
BACKGROUND = "#ffffff"  # the charts' figure and table cells (--color-surface)
# Bars and bands need 3:1 against the background (WCAG 1.4.11, non-text contrast).
ACCENT_LIGHT = "#5b8fc7"  # 3.4:1
BAR_NEUTRAL = "#808b96"  # 3.5:1, the overview's small count bars
TARGET = "#8a4b00"
# 満足 … 不満 (and そう思う … 思わない): two blues, an orange and a dark red, each at least
# 3:1 on white; every segment is also named in the legend and the table.
ANSWER_COLOURS = ("#0b5394", "#5b8fc7", "#c76e00", "#990000")


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours (1 to 21)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _text_on(colour: str) -> str:
    """White or ink, whichever reads better on `colour`."""
    return "#ffffff" if contrast_ratio("#ffffff", colour) >= contrast_ratio(INK, colour) else INK


def count_ticks(max_value: float, steps: int = 4) -> list[int]:
    """Round ticks from 0 covering `max_value`: 0/10/20/30, 0/250/500…, never 0/6/12."""
    if max_value <= steps:
        return list(range(0, steps + 1))
    raw = max_value / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = int(step) if step >= 1 else 1
    return [step * i for i in range(math.ceil(max_value / step) + 1)]

_ids = itertools.count(1)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def percent(value: float | None, digits: int = 1) -> str:
    """Format a rate as a Japanese-style percentage ("92.3%"); "—" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{digits}f}%"


def points(value: float | None, digits: int = 1, unit: bool = True) -> str:
    """Format a difference of rates in percentage points ("+3.2ポイント", "−1.0", "±0.0")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    rounded = round(value * 100, digits)
    sign = "±" if rounded == 0 else ("+" if rounded > 0 else "−")
    return f"{sign}{abs(rounded):.{digits}f}" + ("ポイント" if unit else "")


def _svg(width: int, height: int, title: str, desc: str, body: list[str], css_class: str) -> Markup:
    chart_id = f"chart-{next(_ids)}"
    label = escape(title)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{FONT}" aria-label="{label}" aria-describedby="{chart_id}-desc">'
        f'<title>{label}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, size: int = 12, anchor: str = "start",
          fill: str = INK, weight: str = "normal") -> str:
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}">{escape(text)}</text>')


def axis_floor(lows: Sequence[float | None], default: float = 0.5) -> float:
    """Return the left end of a rate axis: 50%, or lower in 10-point steps if a bound needs it."""
    values = [v for v in lows if v is not None and not math.isnan(v)]
    if not values:
        return default
    return min(default, math.floor(min(values) * 10) / 10)


def month_label(month: str) -> str:
    """Return "4月" for "2024-04"."""
    return f"{int(month[5:7])}月"


# ---------------------------------------------------------------------------- intervals

def interval_strip(rate: float, low: float, high: float, n: int, *, floor: float = 0.5,
                   name: str = "", width: int = 200, height: int = 30) -> Markup:
    """A one-row interval: the rate as a dot, its Wilson 95% interval as a bar, the 90% line."""
    pad = 6
    span = width - 2 * pad

    def x(value: float) -> float:
        return pad + span * (min(max(value, floor), 1.0) - floor) / (1.0 - floor)

    mid = height / 2
    target_x = x(TARGET_RATE)
    body = [
        f'<line x1="{pad}" y1="{_num(mid)}" x2="{width - pad}" y2="{_num(mid)}" stroke="{GRID}" stroke-width="2"/>',
        f'<line x1="{_num(target_x)}" y1="2" x2="{_num(target_x)}" y2="{height - 2}" '
        f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="3 2"/>',
        f'<line x1="{_num(x(low))}" y1="{_num(mid)}" x2="{_num(x(high))}" y2="{_num(mid)}" '
        f'stroke="{ACCENT_LIGHT}" stroke-width="8" stroke-linecap="round"/>',
        f'<circle cx="{_num(x(rate))}" cy="{_num(mid)}" r="5" fill="{ACCENT}" stroke="#fff" stroke-width="1.5"/>',
    ]
    who = f"{name}の" if name else ""
    title = f"{who}満足度 {percent(rate)}（95%信頼区間 {percent(low)}〜{percent(high)}）"
    desc = (f"回答{n:,}件。横軸は{percent(floor, 0)}から100%。点線は目安の90%。"
            f"帯は95%信頼区間（Wilson法）。")
    return _svg(width, height, title, desc, body, "chart--strip")


def interval_plot(rows: Sequence[dict], *, title: str, width: int = 720,
                  label_width: int = 170) -> Markup:
    """Several labelled intervals on one 0.5–1.0 (or wider) axis, with the 90% line.

    Each row: ``label``, ``rate``, ``low``, ``high``, ``n``, optional ``highlight`` (bool);
    a row without a rate (too few answers) is drawn as the words 「回答数不足」.
    """
    row_height = 30
    top, bottom = 8, 34
    height = top + row_height * max(len(rows), 1) + bottom
    left, right = label_width, width - 70
    floor = axis_floor([r.get("low") for r in rows])

    def x(value: float) -> float:
        return left + (right - left) * (min(max(value, floor), 1.0) - floor) / (1.0 - floor)

    body = []
    ticks = [floor + step / 10 for step in range(int(round((1.0 - floor) * 10)) + 1)]
    axis_y = top + row_height * max(len(rows), 1)
    for tick in ticks:
        body.append(f'<line x1="{_num(x(tick))}" y1="{top}" x2="{_num(x(tick))}" y2="{axis_y}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(x(tick), axis_y + 16, percent(tick, 0), 11, "middle", MUTED))
    body.append(f'<line x1="{_num(x(TARGET_RATE))}" y1="{top - 4}" x2="{_num(x(TARGET_RATE))}" '
                f'y2="{axis_y}" stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="4 3"/>')
    body.append(_text(x(TARGET_RATE), axis_y + 30, "目安 90%", 11, "middle", TARGET))
    parts = []
    for index, row in enumerate(rows):
        mid = top + row_height * index + row_height / 2
        weight = "bold" if row.get("highlight") else "normal"
        body.append(_text(left - 8, mid + 4, row["label"], 12, "end", INK, weight))
        if row.get("rate") is None or math.isnan(row["rate"]):
            body.append(_text(left + 4, mid + 4, f"回答数不足（{row.get('n', 0):,}件）", 12, "start", MUTED))
            parts.append(f"{row['label']}: 回答数不足")
            continue
        colour = ACCENT if row.get("highlight") or len(rows) == 1 else "#3d85c6"
        body.append(f'<line x1="{_num(x(row["low"]))}" y1="{_num(mid)}" x2="{_num(x(row["high"]))}" '
                    f'y2="{_num(mid)}" stroke="{ACCENT_LIGHT}" stroke-width="8" stroke-linecap="round"/>')
        body.append(f'<circle cx="{_num(x(row["rate"]))}" cy="{_num(mid)}" r="5.5" fill="{colour}" '
                    f'stroke="#fff" stroke-width="1.5"/>')
        body.append(_text(right + 8, mid + 4, percent(row["rate"]), 12, "start", INK, weight))
        parts.append(f"{row['label']}: {percent(row['rate'])}（{percent(row['low'])}〜"
                     f"{percent(row['high'])}、{row['n']:,}件）")
    desc = "点は満足度、帯は95%信頼区間、点線は目安の90%。" + "／".join(parts)
    return _svg(width, height + 10, title, desc, body, "chart--intervals")


# ---------------------------------------------------------------------------- trends

def trend_chart(months: Sequence[dict], *, title: str, width: int = 720, height: int = 270) -> Markup:
    """Monthly responses as bars (left axis) and satisfaction as a line (right axis).

    Each month: ``month`` ("YYYY-MM"), ``n``, ``rate`` (None when suppressed), ``low``, ``high``.
    """
    left, right, top, bottom = 48, width - 52, 16, height - 40
    count = max(len(months), 1)
    slot = (right - left) / count
    max_n = max([m["n"] for m in months] + [1])
    n_ticks = count_ticks(max_n)
    n_top = n_ticks[-1]
    floor = axis_floor([m.get("low") for m in months])

    def y_n(value: float) -> float:
        return bottom - (bottom - top) * value / n_top

    def y_rate(value: float) -> float:
        return bottom - (bottom - top) * (min(max(value, floor), 1.0) - floor) / (1.0 - floor)

    body = []
    for value in n_ticks:
        y = y_n(value)
        body.append(f'<line x1="{left}" y1="{_num(y)}" x2="{right}" y2="{_num(y)}" stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, f"{int(value):,}", 11, "end", MUTED))
    for step in range(int(round((1.0 - floor) * 10)) + 1):
        rate_value = round(floor + step / 10, 1)
        is_target = rate_value == TARGET_RATE
        body.append(f'<line x1="{right}" y1="{_num(y_rate(rate_value))}" x2="{right + 4}" '
                    f'y2="{_num(y_rate(rate_value))}" stroke="{ACCENT}" stroke-width="1"/>')
        body.append(_text(right + 7, y_rate(rate_value) + 4, percent(rate_value, 0), 11, "start",
                          TARGET if is_target else ACCENT, "bold" if is_target else "normal"))
    body.append(f'<line x1="{right}" y1="{top}" x2="{right}" y2="{bottom}" stroke="{ACCENT}" stroke-width="1"/>')
    # The 90% mark sits on the rate axis only: a line across the plot would read as a count.
    body.append(f'<line class="target-line" x1="{right - 14}" y1="{_num(y_rate(TARGET_RATE))}" x2="{right}" '
                f'y2="{_num(y_rate(TARGET_RATE))}" stroke="{TARGET}" stroke-width="2.5"/>')
    points, parts = [], []
    for index, month in enumerate(months):
        cx = left + slot * index + slot / 2
        bar_width = slot * 0.55
        if month["n"]:
            body.append(f'<rect x="{_num(cx - bar_width / 2)}" y="{_num(y_n(month["n"]))}" '
                        f'width="{_num(bar_width)}" height="{_num(bottom - y_n(month["n"]))}" fill="{ACCENT_LIGHT}"/>')
        body.append(_text(cx, bottom + 16, month_label(month["month"]), 11, "middle", MUTED))
        rate = month.get("rate")
        if rate is None or math.isnan(rate):
            points.append(None)
            parts.append(f"{month_label(month['month'])} {month['n']:,}件（回答数不足）")
        else:
            points.append((cx, y_rate(rate)))
            parts.append(f"{month_label(month['month'])} {month['n']:,}件 満足度{percent(rate)}")
    for run in _runs(points):
        if len(run) > 1:
            path = " ".join(f"{_num(px)},{_num(py)}" for px, py in run)
            body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>')
    for point in points:
        if point:
            body.append(f'<circle cx="{_num(point[0])}" cy="{_num(point[1])}" r="4" fill="{ACCENT}" '
                        f'stroke="#fff" stroke-width="1.5"/>')
    body.append(_text(left, height - 6, "■ 回答数（左軸）", 11, "start", "#3d85c6"))
    body.append(_text(left + 130, height - 6, "● 満足度（右軸）", 11, "start", ACCENT))
    body.append(_text(left + 260, height - 6, "― 目安 90%（右軸）", 11, "start", TARGET))
    desc = "棒は月ごとの回答数、線は満足度（回答10件未満の月は表示しません）。" + "／".join(parts)
    return _svg(width, height, title, desc, body, "chart--trend")


def _runs(points):
    run = []
    for point in points:
        if point is None:
            if run:
                yield run
            run = []
        else:
            run.append(point)
    if run:
        yield run


def sparkline(months: Sequence[dict], *, name: str = "", width: int = 132, height: int = 30) -> Markup:
    """A small monthly picture for the overview table: bars of responses, line of satisfaction."""
    count = max(len(months), 1)
    slot = width / count
    max_n = max([m["n"] for m in months] + [1])
    body = []
    points = []
    for index, month in enumerate(months):
        cx = slot * index + slot / 2
        bar = (height - 4) * month["n"] / max_n
        if month["n"]:
            body.append(f'<rect x="{_num(cx - slot * 0.32)}" y="{_num(height - bar)}" '
                        f'width="{_num(slot * 0.64)}" height="{_num(bar)}" fill="{BAR_NEUTRAL}"/>')
        rate = month.get("rate")
        if rate is None or math.isnan(rate):
            points.append(None)
        else:
            points.append((cx, 2 + (height - 4) * (1 - (max(rate, 0.5) - 0.5) / 0.5)))
    for run in _runs(points):
        path = " ".join(f"{_num(px)},{_num(py)}" for px, py in run)
        if len(run) > 1:
            body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="1.8"/>')
        else:
            body.append(f'<circle cx="{_num(run[0][0])}" cy="{_num(run[0][1])}" r="2" fill="{ACCENT}"/>')
    shown = [f"{month_label(m['month'])}{percent(m.get('rate'), 0)}" for m in months
             if m.get("rate") is not None and not math.isnan(m["rate"])]
    title = f"{name}の月別推移" if name else "月別推移"
    desc = ("灰色の棒は月ごとの回答数、線は満足度（50〜100%）。"
            + ("、".join(shown) if shown else "満足度を示せる月はありません（各月10件未満）。"))
    return _svg(width, height, title, desc, body, "chart--spark")


def share_sparkline(months: Sequence[dict], *, name: str, width: int = 132, height: int = 26) -> Markup:
    """Monthly share of one theme among the month's comments, as small bars."""
    count = max(len(months), 1)
    slot = width / count
    top = max([m["share"] or 0 for m in months] + [0.01])
    body = [f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="{GRID}" stroke-width="1"/>']
    for index, month in enumerate(months):
        share = month["share"] or 0
        bar = (height - 3) * share / top
        if bar > 0:
            body.append(f'<rect x="{_num(slot * index + slot * 0.18)}" y="{_num(height - 1 - bar)}" '
                        f'width="{_num(slot * 0.64)}" height="{_num(bar)}" fill="#3d85c6"/>')
    desc = "月ごとの、意見のうちこのテーマの割合。" + "、".join(
        f"{month_label(m['month'])}{percent(m['share'], 0)}" for m in months if m["share"])
    return _svg(width, height, f"「{name}」の月別の割合", desc, body, "chart--spark")


PRAISE_COLOUR = ACCENT
REQUEST_COLOUR = "#b45f06"


def voice_sparkline(months: Sequence[dict], *, name: str, width: int = 156, height: int = 30) -> Markup:
    """Monthly respondents who praise (blue, left bar) and who ask (orange, right bar) a theme."""
    count = max(len(months), 1)
    slot = width / count
    top = max([max(m["praise"], m["request"]) for m in months] + [1])
    body = [f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="{GRID}" stroke-width="1"/>']
    for index, month in enumerate(months):
        for offset, key, colour in ((0.12, "praise", PRAISE_COLOUR), (0.5, "request", REQUEST_COLOUR)):
            bar = (height - 3) * month[key] / top
            if bar > 0:
                body.append(f'<rect x="{_num(slot * index + slot * offset)}" y="{_num(height - 1 - bar)}" '
                            f'width="{_num(slot * 0.38)}" height="{_num(bar)}" fill="{colour}"/>')
    desc = "月ごとの人数。青は評価する声、橙は充実を求める意見。" + "、".join(
        f"{month_label(m['month'])} 評価{m['praise']}人・要望{m['request']}人"
        for m in months if m["praise"] or m["request"])
    return _svg(width, height, f"「{name}」の声の月別推移", desc, body, "chart--spark")


# ---------------------------------------------------------------------------- distributions

def distribution_bars(satisfaction: dict, establishment: dict, *, width: int = 720) -> Markup:
    """100% stacked bars of the four answers to both questions, with a legend per bar."""
    questions = ((SATISFACTION, satisfaction, "満足度"), (ESTABLISHMENT, establishment, "施設ができてよかったか"))
    left, right = 170, width - 10
    bar_height, gap = 26, 58
    height = 14 + gap * len(questions)
    body, parts = [], []
    for index, (question, counts, label) in enumerate(questions):
        total = sum(counts.get(choice.value, 0) for choice in question.choices)
        y = 10 + gap * index
        body.append(_text(left - 10, y + 18, label, 13, "end", INK, "bold"))
        x = float(left)
        legend_x = float(left)
        described = []
        for choice, colour in zip(question.choices, ANSWER_COLOURS):
            value = counts.get(choice.value, 0)
            share = value / total if total else 0
            segment = (right - left) * share
            if segment > 0:
                body.append(f'<rect x="{_num(x)}" y="{y}" width="{_num(segment)}" height="{bar_height}" '
                            f'fill="{colour}"/>')
                if segment > 44:
                    text_fill = _text_on(colour)
                    body.append(_text(x + segment / 2, y + 18, percent(share, 0), 12, "middle", text_fill, "bold"))
            x += segment
            body.append(f'<rect x="{_num(legend_x)}" y="{y + bar_height + 7}" width="10" height="10" fill="{colour}"/>')
            legend = f"{choice.label} {value:,}件"
            body.append(_text(legend_x + 14, y + bar_height + 16, legend, 11, "start", MUTED))
            legend_x += 14 + 13 * len(legend) * 0.85 + 12
            described.append(f"{choice.label}{value:,}件（{percent(share)}）")
        if not total:
            body.append(f'<rect x="{left}" y="{y}" width="{right - left}" height="{bar_height}" '
                        f'fill="none" stroke="{GRID}"/>')
            body.append(_text((left + right) / 2, y + 18, "回答なし", 12, "middle", MUTED))
        parts.append(f"{label}: " + "、".join(described))
    return _svg(width, height, "回答の分布（満足度・施設ができてよかったか）", "／".join(parts), body,
                "chart--distribution")
