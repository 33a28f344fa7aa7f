"""Paper questionnaires: sheet numbers, the entry screen, the spreadsheet import, the clerk role."""
import csv
import io
import uuid
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Facility, PaperSheet, Response
from survey_app.paper.entry import today_tokyo
from survey_app.paper.importer import HEADERS
from survey_app.paper.sheets import (SheetNumberError, allocate_sheets, luhn_digit, parse_sheet_number,
                                     sheet_number, shown)
from survey_app.timeutil import to_tokyo

from .reports_fixtures import CSRF_PATTERN, FACILITY_CODE, OTHER_FACILITY_CODE, logged_in


def csrf(page) -> str:
    match = CSRF_PATTERN.search(page.get_data(as_text=True))
    return match.group(1) or match.group(2)


def print_sheets(app, code=FACILITY_CODE, count=3) -> list[str]:
    with app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == code))
        return allocate_sheets(facility, count)


def paper_rows(app):
    with app.app_context():
        return db.session.execute(select(Response.sheet_number, Response.channel, Response.satisfaction,
                                         Response.comment, Response.submitted_at, Response.facility_id)
                                  .order_by(Response.id)).all()


@pytest.fixture
def clerk(app):
    return logged_in(app, "clerk-user", "clerk", [FACILITY_CODE])


def entry(client, number, answered_on=None, **answers):
    page = client.get("/paper/entry")
    data = {"csrf_token": csrf(page), "sheet_number": number,
            "answered_on": str(answered_on or today_tokyo()),
            "satisfaction": "1", "establishment": "2", "comment": ""}
    data.update(answers)
    return client.post("/paper/entry", data=data)


# ---------------------------------------------------------------------------- numbers

def test_luhn_digit_matches_the_published_example():
    assert luhn_digit("7992739871") == 3  # the standard worked example of the algorithm
    assert sheet_number(123) == "00001230" and shown("00001230") == "0000123-0"


@pytest.mark.parametrize("typed", ["00001230", "0000123-0", "１２３０", "1230", " 0000123 - 0 ", "0000123－0"])
def test_typed_sheet_numbers_are_read_with_or_without_zeros_hyphens_and_full_width(typed):
    assert parse_sheet_number(typed) == "00001230"


@pytest.mark.parametrize("typed,message", [
    ("00001231", "最後のチェック用の数字が合いません"),
    ("00002130", "最後のチェック用の数字が合いません"),  # two neighbours swapped
    ("", "調査票番号を入力してください"),
    ("12a4", "8けたの数字"),
    ("123456789", "8けたの数字"),
])
def test_a_wrong_sheet_number_is_refused_in_japanese(typed, message):
    with pytest.raises(SheetNumberError, match=message):
        parse_sheet_number(typed)


def test_every_single_wrong_digit_is_caught():
    number = sheet_number(4711)
    for position in range(len(number)):
        for digit in "0123456789":
            if digit != number[position]:
                with pytest.raises(SheetNumberError):
                    parse_sheet_number(number[:position] + digit + number[position + 1:])


def test_sheet_numbers_are_unique_nationally_across_print_runs(app):
    first = print_sheets(app, FACILITY_CODE, 3)
    second = print_sheets(app, OTHER_FACILITY_CODE, 2)
    assert len(set(first + second)) == 5
    with app.app_context():
        facilities = {s.serial: s.facility.code for s in db.session.scalars(select(PaperSheet))}
    assert [facilities[int(n[:-1])] for n in first + second] == [FACILITY_CODE] * 3 + [OTHER_FACILITY_CODE] * 2


# ---------------------------------------------------------------------------- entry screen

def test_a_sheet_entered_twice_is_stored_once(app, clerk):
    number = print_sheets(app)[0]
    first = entry(clerk, number, satisfaction="2", comment="受付が親切でした")
    assert first.status_code == 303
    assert "を保存しました" in clerk.get(first.headers["Location"]).get_data(as_text=True)
    again = entry(clerk, shown(number), satisfaction="2", comment="受付が親切でした")
    assert again.status_code == 303
    assert "同じ内容ですでに入力されています" in clerk.get(again.headers["Location"]).get_data(as_text=True)
    rows = paper_rows(app)
    assert [(r.sheet_number, r.channel, r.satisfaction, r.comment) for r in rows] == [
        (number, "paper", 2, "受付が親切でした")]
    assert to_tokyo(rows[0].submitted_at).date() == today_tokyo()


def test_a_second_entry_with_other_answers_is_a_conflict_and_stores_nothing(app, clerk):
    number = print_sheets(app)[0]
    assert entry(clerk, number, satisfaction="1").status_code == 303
    conflict = entry(clerk, number, satisfaction="3", comment="駐車場が狭い")
    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "すでに別の内容で入力されています" in page and "今回の入力は保存していません" in page
    assert "やや不満" in page and "満足" in page and "駐車場が狭い" in page
    assert [(r.satisfaction, r.comment) for r in paper_rows(app)] == [(1, None)]
    # Another date is another entry of the sheet too, never silently kept or dropped.
    other_day = entry(clerk, number, answered_on=today_tokyo() - timedelta(days=1), satisfaction="1")
    assert other_day.status_code == 409 and len(paper_rows(app)) == 1


@pytest.mark.parametrize("number,answers,message", [
    ("00000019", {}, "最後のチェック用の数字が合いません"),
    (None, {"satisfaction": ""}, "この質問は必ず選んでください"),
    (None, {"satisfaction": "9"}, "選択肢の中から選んでください"),
    (None, {"comment": "あ" * 1001}, "1000文字以内"),
    (None, {"answered_on": "2999-01-01"}, "未来の日付"),
    (None, {"answered_on": "きのう"}, "日付として読めません"),
])
def test_bad_entries_get_422_in_japanese_and_store_nothing(app, clerk, number, answers, message):
    printed = print_sheets(app)[0]
    response = entry(clerk, number or printed, **answers)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert paper_rows(app) == []


def test_sheets_of_other_facilities_or_never_printed_are_refused(app, clerk):
    other = print_sheets(app, OTHER_FACILITY_CODE, 1)[0]
    never = sheet_number(999_999)
    for number in (other, never):
        response = entry(clerk, number)
        assert response.status_code == 422
        assert "入力できる施設の用紙として発行されていません" in response.get_data(as_text=True)
    assert paper_rows(app) == []


def test_entry_needs_a_csrf_token(app, clerk):
    number = print_sheets(app)[0]
    response = clerk.post("/paper/entry", data={"sheet_number": number, "answered_on": today_tokyo().isoformat(),
                                                "satisfaction": "1", "establishment": "1"})
    assert response.status_code == 400 and "もう一度お試しください" in response.get_data(as_text=True)
    assert paper_rows(app) == []


# ---------------------------------------------------------------------------- the clerk role

def test_a_clerk_lands_on_the_entry_screen_and_reaches_nothing_else(app, clerk):
    assert clerk.get("/paper/entry").status_code == 200
    for path in ("/reports/", f"/reports/{FACILITY_CODE}", f"/reports/{FACILITY_CODE}/responses.csv",
                 "/reports/export/overview.csv", "/admin/users", "/admin/targets/"):
        assert clerk.get(path).status_code == 403, path
    page = clerk.get("/paper/")
    assert page.status_code == 200 and "調査票を印刷する" not in page.get_data(as_text=True)
    printed = clerk.post("/paper/print", data={"csrf_token": csrf(page), "facility": FACILITY_CODE, "sheets": "2"})
    assert printed.status_code == 403
    header = clerk.get("/paper/entry").get_data(as_text=True)
    assert ">レポート<" not in header and "紙の回答の入力" in header


def test_a_clerk_logs_in_to_the_entry_screen(app):
    from .reports_fixtures import PASSWORD, make_user
    make_user(app, "clerk-two", "clerk", [FACILITY_CODE])
    client = app.test_client()
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"username": "clerk-two", "password": PASSWORD,
                                                "csrf_token": csrf(page)})
    assert response.headers["Location"].endswith("/paper/entry")


def test_a_clerk_needs_a_facility(app, runner):
    result = runner.invoke(args=["users", "create", "clerk-x", "--role", "clerk", "--password-stdin"],
                           input="a long enough passphrase 93\n")
    assert result.exit_code != 0 and "needs at least one facility" in result.output
    result = runner.invoke(args=["users", "create", "clerk-x", "--role", "clerk", "--facility", FACILITY_CODE,
                                 "--password-stdin"], input="a long enough passphrase 93\n")
    assert result.exit_code == 0, result.output


def test_a_manager_enters_and_prints_for_their_facility_only(app):
    manager = logged_in(app, "paper-manager", "manager", [FACILITY_CODE])
    number = print_sheets(app)[0]
    assert entry(manager, number).status_code == 303
    page = manager.get("/paper/")
    other = manager.post("/paper/print", data={"csrf_token": csrf(page), "facility": OTHER_FACILITY_CODE,
                                               "sheets": "1"})
    assert other.status_code == 400 and "施設を一覧から選んでください" in other.get_data(as_text=True)
    too_many = manager.post("/paper/print", data={"csrf_token": csrf(page), "facility": FACILITY_CODE,
                                                  "sheets": "51"})
    assert too_many.status_code == 400 and "1〜50" in too_many.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaperSheet)) == 3


# ---------------------------------------------------------------------------- import

def filled_rows(numbers):
    return [
        [shown(numbers[0]), FACILITY_CODE, today_tokyo().isoformat(), "まあ満足", "そう思う", "若年者",
         "仕事の相談・紹介、セミナー", "相談しやすかった"],
        [numbers[1], "川口市 就労支援コーナー", today_tokyo().strftime("%Y/%m/%d"), "1", "2", "", "", ""],
    ]


def xlsx_bytes(rows, header=None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "紙の回答"
    sheet.append(header or list(HEADERS.values()))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, header=None, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header or list(HEADERS.values()), *rows])
    return buffer.getvalue().encode(encoding)


def snapshot(app):
    with app.app_context():
        return db.session.execute(select(Response.__table__).order_by(Response.id)).all()


def test_templates_have_japanese_headers_and_the_printed_choices(app, runner, tmp_path):
    for suffix in ("xlsx", "csv"):
        result = runner.invoke(args=["paper", "template", "--output", str(tmp_path / f"t.{suffix}")])
        assert result.exit_code == 0, result.output
    header = (tmp_path / "t.csv").read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header == "調査票番号,施設,記入日,満足度,施設ができてよかったか,支援対象者,利用したサービス,ご意見・ご要望"
    workbook = load_workbook(tmp_path / "t.xlsx")
    assert [c.value for c in workbook["紙の回答"][1]] == header.split(",")
    formulas = [v.formula1 for v in workbook["紙の回答"].data_validations.dataValidation]
    assert '"満足,まあ満足,やや不満,不満"' in formulas
    choices = [tuple(c.value for c in row) for row in workbook["選択肢"].iter_rows(min_row=2)]
    assert ("支援対象者", "respondent_group", "生活保護受給者等", "welfare") in choices


@pytest.mark.parametrize("kind", ["xlsx", "csv", "csv-sjis"])
def test_import_stores_every_row_and_a_second_import_changes_nothing(app, runner, tmp_path, kind):
    numbers = print_sheets(app, count=2)
    raw = (xlsx_bytes(filled_rows(numbers)) if kind == "xlsx"
           else csv_bytes(filled_rows(numbers), encoding="cp932" if kind == "csv-sjis" else "utf-8-sig"))
    path = tmp_path / f"answers.{kind[:4].rstrip('-')}"
    path.write_bytes(raw)
    result = runner.invoke(args=["paper", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 stored, 0 already stored" in result.output
    with app.app_context():
        rows = db.session.scalars(select(Response).order_by(Response.sheet_number)).all()
        assert [(r.sheet_number, r.channel, r.satisfaction, r.establishment, r.respondent_group, r.services,
                 r.comment) for r in rows] == [
            (numbers[0], "paper", 2, 1, "youth", ["job_consultation", "seminar"], "相談しやすかった"),
            (numbers[1], "paper", 1, 2, None, [], None)]
    before = snapshot(app)
    again = runner.invoke(args=["paper", "import", str(path)])
    assert again.exit_code == 0 and "0 stored, 2 already stored" in again.output
    assert snapshot(app) == before


def test_import_reads_the_english_column_keys_too(app, runner, tmp_path):
    numbers = print_sheets(app, count=2)
    path = tmp_path / "keys.csv"
    path.write_bytes(csv_bytes(filled_rows(numbers), header=list(HEADERS)))
    assert runner.invoke(args=["paper", "import", str(path)]).exit_code == 0
    assert len(paper_rows(app)) == 2


@pytest.mark.parametrize("change,message", [
    ({3: "とても満足"}, "3行目「満足度」列: 選択肢にありません。次のどれかを入力してください: 満足（1）"),
    ({0: "0000001-9"}, "3行目「調査票番号」列: 調査票番号「0000001-9」は正しくありません"),
    ({2: "2025-02-30"}, "3行目「記入日」列: 記入日「2025-02-30」は日付として読めません"),
    ({1: OTHER_FACILITY_CODE}, "3行目「施設」列: 調査票「"),
    ({6: "仕事の相談・紹介、散歩"}, "3行目「利用したサービス」列: 選択肢にありません"),
    ({4: ""}, "3行目「施設ができてよかったか」列: この質問は必ず選んでください"),
])
def test_a_bad_row_names_its_row_and_column_and_nothing_is_stored(app, runner, tmp_path, change, message):
    numbers = print_sheets(app, count=2)
    rows = filled_rows(numbers)
    for column, value in change.items():
        rows[1][column] = value
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    result = runner.invoke(args=["paper", "import", str(path)])
    assert result.exit_code != 0
    assert message in result.output and "何も取り込んでいません" in result.output
    assert paper_rows(app) == []


def test_a_row_conflicting_with_a_stored_sheet_stores_nothing(app, runner, tmp_path, clerk):
    numbers = print_sheets(app, count=2)
    assert entry(clerk, numbers[1], satisfaction="4", establishment="4").status_code == 303
    before = snapshot(app)
    path = tmp_path / "conflict.csv"
    path.write_bytes(csv_bytes(filled_rows(numbers)))
    result = runner.invoke(args=["paper", "import", str(path)])
    assert result.exit_code != 0
    assert f"3行目「調査票番号」列: 調査票「{shown(numbers[1])}」は、すでに別の内容で入力されています" in result.output
    assert snapshot(app) == before


def test_the_same_sheet_twice_in_a_file_is_one_answer_unless_the_rows_differ(app, runner, tmp_path):
    numbers = print_sheets(app, count=2)
    rows = filled_rows(numbers)
    path = tmp_path / "twice.csv"
    path.write_bytes(csv_bytes([rows[0], rows[0]]))
    assert runner.invoke(args=["paper", "import", str(path)]).exit_code == 0
    assert len(paper_rows(app)) == 1
    differing = [rows[1], list(rows[1])]
    differing[1][3] = "不満"
    path.write_bytes(csv_bytes(differing))
    result = runner.invoke(args=["paper", "import", str(path)])
    assert "3行目「調査票番号」列" in result.output and "2行目と重なっていて、内容が違います" in result.output
    assert len(paper_rows(app)) == 1


@pytest.mark.parametrize("name,raw,message", [
    ("x.csv", b"\x81\x00\x81\x00", "ファイルを読めません"),
    ("x.xlsx", b"not a workbook", "ファイルを読めません"),
    ("x.csv", "施設,満足度\r\n".encode(), "1行目: 列がありません: 調査票番号、記入日、施設ができてよかったか"),
    ("x.csv", "\ufeff調査票番号,施設,記入日,満足度,施設ができてよかったか\r\n".encode(), "取り込む行がありません"),
])
def test_unreadable_files_are_refused(app, runner, tmp_path, name, raw, message):
    path = tmp_path / name
    path.write_bytes(raw)
    result = runner.invoke(args=["paper", "import", str(path)])
    assert result.exit_code != 0 and message in result.output


def test_the_upload_page_imports_once_and_refuses_other_facilities_rows(app, clerk):
    numbers = print_sheets(app, count=2)
    other = print_sheets(app, OTHER_FACILITY_CODE, 1)[0]
    page = clerk.get("/paper/")
    ok = clerk.post("/paper/import", data={"csrf_token": csrf(page),
                                           "file": (io.BytesIO(xlsx_bytes(filled_rows(numbers))), "a.xlsx")})
    assert ok.status_code == 302
    assert "新しく保存 2 件" in clerk.get("/paper/").get_data(as_text=True)
    again = clerk.post("/paper/import", data={"csrf_token": csrf(page),
                                              "file": (io.BytesIO(xlsx_bytes(filled_rows(numbers))), "a.xlsx")})
    assert again.status_code == 302
    assert "入力済みで変更なし 2 件" in clerk.get("/paper/").get_data(as_text=True)
    rows = [[other, "", today_tokyo().isoformat(), "満足", "そう思う", "", "", ""]]
    refused = clerk.post("/paper/import", data={"csrf_token": csrf(page),
                                                "file": (io.BytesIO(csv_bytes(rows)), "b.csv")})
    assert refused.status_code == 400
    assert "2行目「調査票番号」列" in refused.get_data(as_text=True)
    assert len(paper_rows(app)) == 2
    no_token = clerk.post("/paper/import", data={"file": (io.BytesIO(csv_bytes(rows)), "b.csv")})
    assert no_token.status_code == 400


def test_paper_answers_have_a_client_id_derived_from_their_number(app, clerk):
    number = print_sheets(app)[0]
    entry(clerk, number)
    with app.app_context():
        stored = db.session.scalar(select(Response.client_uuid))
    assert uuid.UUID(stored).version == 5
