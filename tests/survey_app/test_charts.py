"""Server-side SVG charts: round count ticks, the 90% mark on the rate axis only, bar contrast."""
import re

import pytest

from survey_app.reports import charts


def months(counts, rate=0.92):
    return [{"month": f"2024-{4 + i:02d}" if i < 9 else f"2025-{i - 8:02d}", "n": n,
             "rate": rate if n >= 10 else None, "low": rate - 0.05, "high": min(rate + 0.04, 1.0)}
            for i, n in enumerate(counts)]


@pytest.mark.parametrize("max_value, expected", [
    (25, [0, 10, 20, 30]), (4, [0, 1, 2, 3, 4]), (38, [0, 10, 20, 30, 40]), (100, [0, 25, 50, 75, 100]),
    (1234, [0, 500, 1000, 1500]),
])
def test_count_ticks_are_round(max_value, expected):
    assert charts.count_ticks(max_value) == expected


def test_trend_chart_count_axis_has_round_ticks_and_the_90_line_on_the_rate_axis_only():
    svg = str(charts.trend_chart(months([25, 12, 3, 18, 0, 7, 9, 14, 22, 11, 5, 16]), title="推移"))
    labels = re.findall(r'text-anchor="end" fill="#4a4f55" font-weight="normal">([\d,]+)</text>', svg)
    assert labels == ["0", "10", "20", "30"]
    right = 720 - 52
    dashed = re.findall(r'<line [^>]*stroke="#8a4b00"[^>]*>', svg)
    assert len(dashed) == 1
    x1, x2 = (float(v) for v in re.search(r'x1="([\d.]+)"[^>]*x2="([\d.]+)"', dashed[0]).groups())
    assert x2 == right and right - x1 <= 20  # a mark on the right (rate) axis, not across the bars


BAR_FILL = re.compile(r'<rect [^>]*fill="(#[0-9a-fA-F]{6})"')


def all_charts() -> str:
    data = months([25, 12, 3, 18, 0, 7, 9, 14, 22, 11, 5, 16])
    rows = [{"label": "この施設", "rate": 0.93, "low": 0.88, "high": 0.96, "n": 120, "highlight": True},
            {"label": "全国", "rate": 0.9, "low": 0.89, "high": 0.91, "n": 9000}]
    return "".join(str(chart) for chart in (
        charts.trend_chart(data, title="t"), charts.sparkline(data, name="x"),
        charts.interval_plot(rows, title="i"), charts.interval_strip(0.93, 0.88, 0.96, 120),
        charts.distribution_bars({1: 10, 2: 8, 3: 3, 4: 1}, {1: 12, 2: 6, 3: 2, 4: 2}),
        charts.share_sparkline([{"month": "2024-04", "share": 0.3}], name="s"),
        charts.voice_sparkline([{"month": "2024-04", "praise": 3, "request": 2}], name="v")))


def test_every_bar_colour_has_3_to_1_contrast_against_the_background():
    svg = all_charts()
    fills = set(BAR_FILL.findall(svg)) | set(re.findall(r'stroke="(#[0-9a-fA-F]{6})" stroke-width="8"', svg))
    assert fills, "no bars found"
    weak = {fill: round(charts.contrast_ratio(fill, charts.BACKGROUND), 2) for fill in fills
            if charts.contrast_ratio(fill, charts.BACKGROUND) < 3}
    assert weak == {}


def test_percent_labels_inside_bars_are_readable():
    svg = str(charts.distribution_bars({1: 10, 2: 10, 3: 10, 4: 10}, {1: 10, 2: 10, 3: 10, 4: 10}))
    for fill, text_fill in re.findall(r'<rect [^>]*fill="(#\w{6})"/><text [^>]*fill="(#\w{6})" font-weight="bold"', svg):
        assert charts.contrast_ratio(fill, text_fill) >= 4.5, (fill, text_fill)
