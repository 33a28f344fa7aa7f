"""「利用者の声」: praise and requests per theme, masked quotes and satisfaction by mention.

The mentions are stored through `analysis.store.save_run(mentions=…)`, the interface the
theme pipeline's third frame goes through, on top of the known report dataset.
"""
import csv
import io
import math
import subprocess

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis import store
from analysis.masking import mask_personal_data
from analysis.text import normalize
from survey_app.extensions import db
from survey_app.models import AnalysisRun

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import (A_PLAN, FACILITY_CODE, FISCAL_YEAR, OTHER_FACILITY_CODE, PII_COMMENT,
                               XSS_SCRIPT, data_elements)

FY = f"fy={FISCAL_YEAR}"
POLARITY = {"T01": "praise", "T05": "praise", "T02": "request", "T03": "request", "T04": "request"}
LABELS = {"T01": "丁寧な相談への評価", "T02": "求人検索端末の増設", "T03": "開庁時間の拡大",
          "T04": "待ち時間", "T05": "ワンストップの便利さ"}
PII_CLAUSE = "電話 ［電話番号］、mail ［メールアドレス］"


def read_span(comment: str) -> str:
    """The text mention offsets refer to: the normalised masked comment."""
    return normalize(mask_personal_data(comment))


@pytest.fixture
def voices_data(app, known_data):
    """A new run over the known responses: each comment's theme as its main mention, a second
    "待ち時間" request in five April comments, the PII comment's mention spanning its phone
    number, and the XSS comment left 未分類."""
    with app.app_context():
        engine = db.engine
        responses = store.read_responses(engine)
        old = store.read_theme_assignments(engine, run_id=known_data["run_id"]).set_index("response_id")
        codes = [old["theme_id"].get(rid) for rid in responses["response_id"]]
        sources = ["no_comment" if code is None else "catalog" for code in codes]
        xss_row = responses.index[responses["response_id"] == known_data["xss_id"]][0]
        codes[xss_row], sources[xss_row] = None, "unclassified"
        mentions = []
        for row, (comment, code) in enumerate(zip(responses["comment"], codes)):
            if code is None:
                continue
            text = read_span(comment)
            start, end = 0, len(text)
            if row == responses.index[responses["response_id"] == known_data["pii_id"]][0]:
                start = text.index("電話")
            mentions.append({"row": row, "theme_id": code, "polarity": POLARITY[code], "score": 0.9,
                             "span_start": start, "span_end": end, "rank": 0})
            if comment.startswith("四月の意見") and int(comment[5:comment.index("：")]) < 5:
                mentions.append({"row": row, "theme_id": "T04", "polarity": "request", "score": 0.7,
                                 "span_start": 0, "span_end": 5, "rank": 1})
        assignments = pd.DataFrame({"response_id": responses["response_id"], "theme_id": codes,
                                    "score": [0.9 if c else None for c in codes], "source": sources})
        themes = pd.DataFrame({"theme_id": list(LABELS), "label": list(LABELS.values()),
                               "source": ["catalog"] * len(LABELS)})
        run_id = store.save_run(engine, assignments, themes, mentions=pd.DataFrame(mentions))
        return {**known_data, "run_id": run_id, "mentions": pd.DataFrame(mentions),
                "responses": responses}


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def wilson(successes: int, n: int, z: float = 1.959963984540054):
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def plan_counts():
    """Facility A's answers of the fiscal year, by hand from the fixture plan (plus 3 specials)."""
    answers = [(s, c) for (_ym, _day, s, _e, _g, c) in A_PLAN]
    answers += [(1, PII_COMMENT), (3, "xss"), (2, "formula")]
    return answers


def test_facility_page_counts_praise_and_requests_per_theme(manager_client, voices_data):
    page = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    rows = {row["data-theme"]: row for row in data_elements(page, "data-praise")}
    # 四月 15 + PII + formula comment (感謝) praise 丁寧な相談; 三月 11 praise ワンストップ.
    assert (rows["T01"]["data-praise"], rows["T01"]["data-request"]) == ("17", "0")
    assert (rows["T05"]["data-praise"], rows["T05"]["data-request"]) == ("11", "0")
    # 一月: 12 comments about waiting, and five April comments' second point.
    assert (rows["T04"]["data-praise"], rows["T04"]["data-request"]) == ("0", "17")
    assert rows["T02"]["data-request"] == "8" and rows["T03"]["data-request"] == "4"
    assert "評価する声" in page and "充実を求める意見" in page
    assert "「待ち時間」の声の月別推移" in page
    unclassified = data_elements(page, "data-unclassified")[0]
    assert unclassified["data-unclassified"] == "1"
    assert "テーマに分けられなかったご意見（未分類）：1件" in page


def test_voices_quote_the_masked_span_and_escape_it(manager_client, voices_data):
    page = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    voices = page[page.index('id="voices"'):]
    praise = voices[voices.index('data-polarity="praise"'):voices.index('data-polarity="request"')]
    assert "「四月の意見" in praise  # the top praise theme's quotes
    # The PII comment's span starts at 電話: its quote is masked and nothing else of it shows.
    all_voices = voices[:voices.index('id="unclassified"')]
    assert "090-1234-5678" not in page and "sato@example.jp" not in page
    assert "1234" not in all_voices and "佐藤" not in all_voices
    assert "［電話番号］" in all_voices or "[電話番号]" in all_voices
    # The unclassified example is the XSS comment: shown, escaped.
    assert "<script>window.__xss" not in page and "&lt;script&gt;" in voices


def test_a_manager_never_sees_another_facilitys_quotes_or_themes(manager_client, other_manager_client,
                                                                 voices_data):
    for url in (f"/reports/{FACILITY_CODE}?{FY}", f"/reports/?{FY}"):
        page = html_of(manager_client.get(url))
        assert "青森の職員さん" not in page
    assert manager_client.get(f"/reports/{OTHER_FACILITY_CODE}?{FY}").status_code == 404
    other = html_of(other_manager_client.get(f"/reports/?{FY}"))
    voices = other[other.index('id="voices"'):]
    assert "青森の職員さんはとても親切でした" in voices
    assert "四月の意見" not in voices and "待ち時間" not in voices
    rows = {row["data-theme"]: row for row in data_elements(voices, "data-praise")}
    assert set(rows) == {"T01"} and rows["T01"]["data-praise"] == "6"


def test_satisfaction_by_mention_equals_a_hand_computation(manager_client, voices_data):
    page = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    rows = {row["data-theme"]: row for row in data_elements(page, "data-n-other")}
    answers = plan_counts()
    waiting = [s for s, c in answers if c and ("待ち時間" in c or (c.startswith("四月の意見")
                                                                and int(c[5:c.index("：")]) < 5))]
    others = len(answers) - len(waiting)
    satisfied = sum(s <= 2 for s in waiting)
    satisfied_other = sum(s <= 2 for s, _ in answers) - satisfied
    row = rows["T04"]
    assert (int(row["data-n"]), int(row["data-satisfied"]), int(row["data-n-other"])) == (
        len(waiting), satisfied, others) == (17, 13, 50)
    assert float(row["data-rate"]) == pytest.approx(satisfied / len(waiting), abs=1e-12)
    low, high = wilson(satisfied, len(waiting))
    assert float(row["data-low"]) == pytest.approx(low, abs=1e-12)
    assert float(row["data-high"]) == pytest.approx(high, abs=1e-12)
    assert float(row["data-other-rate"]) == pytest.approx(satisfied_other / others, abs=1e-12)
    other_low, other_high = wilson(satisfied_other, others)
    assert float(row["data-other-low"]) == pytest.approx(other_low, abs=1e-12)
    assert float(row["data-other-high"]) == pytest.approx(other_high, abs=1e-12)
    shown = f"{satisfied / len(waiting) * 100:.1f}%"
    assert shown in page[page.index('id="mention-satisfaction-table"'):]
    # T03 (4 people) is under the minimum: no rate shown.
    assert rows["T03"]["data-rate"] == ""


def test_an_old_run_without_mentions_says_so(app, manager_client, known_data):
    page = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    assert data_elements(page, "data-has-mentions")[0]["data-has-mentions"] == "false"
    assert "区別が記録されていません" in page
    assert html_of(manager_client.get(f"/reports/?{FY}")).count("区別が記録されていません") == 1
    with app.app_context():
        db.session.execute(db.delete(AnalysisRun))
        db.session.commit()
    page = html_of(manager_client.get(f"/reports/{FACILITY_CODE}?{FY}"))
    assert "テーマ分析の結果はまだありません。" in page


def read_csv(response):
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_overview_csv_and_workbook_carry_the_same_voice_counts(admin_client, manager_client, voices_data):
    rows = read_csv(admin_client.get(f"/reports/export/overview.csv?{FY}"))
    by_code = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    kawaguchi = by_code[FACILITY_CODE]
    assert kawaguchi["評価する声の多いテーマ"] == "丁寧な相談への評価（17人）、ワンストップの便利さ（11人）"
    assert kawaguchi["充実を求める意見の多いテーマ"].startswith("待ち時間（17人）、求人検索端末の増設（8人）")
    assert kawaguchi["未分類のご意見（件）"] == "1"
    assert by_code[OTHER_FACILITY_CODE]["評価する声の多いテーマ"] == "丁寧な相談への評価（6人）"

    workbook = load_workbook(io.BytesIO(admin_client.get(f"/reports/export/overview.xlsx?{FY}").get_data()))
    sheet = workbook["利用者の声"]
    header = [cell.value for cell in sheet[1]]
    table = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    waiting = next(r for r in table if r["施設コード"] == FACILITY_CODE and r["テーマコード"] == "T04")
    assert (waiting["評価する声（人）"], waiting["充実を求める意見（人）"]) == (0, 17)
    assert waiting["2025年1月 充実を求める意見"] == 12 and waiting["2024年4月 充実を求める意見"] == 5
    unclassified = next(r for r in table if r["施設コード"] == FACILITY_CODE and r["テーマ"] == "未分類")
    assert unclassified["評価する声（人）"] is None and unclassified["件数（未分類）"] == 1

    manager_book = load_workbook(io.BytesIO(manager_client.get(f"/reports/export/overview.xlsx?{FY}").get_data()))
    codes = {row[0] for row in manager_book["利用者の声"].iter_rows(min_row=2, values_only=True)}
    assert codes == {FACILITY_CODE}


def test_pdf_report_carries_the_voices_masked(manager_client, voices_data, tmp_path):
    response = manager_client.get(f"/reports/{FACILITY_CODE}/report.pdf?{FY}")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.get_data())
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "利用者の声" in text and "評価する声" in text and "充実を求める意見" in text
    assert "テーマに触れた人の満足度" in text
    assert "未分類" in text
    assert "090-1234-5678" not in text and "佐藤" not in text and "青森の職員" not in text
    compact = text.replace(" ", "").replace("\n", "")
    assert "17人" in compact  # 丁寧な相談への評価 and 待ち時間, as on the page
