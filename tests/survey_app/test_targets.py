"""Yearly targets: the shipped 平成24年度 figures, CSV/Excel import, queries and the admin page."""
import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from survey_app.auth.accounts import create_user
from survey_app.extensions import db
from survey_app.models import Facility, Target
from survey_app.targets.importer import SHIPPED_TARGETS_CSV, load_shipped_targets
from survey_app.targets.queries import achievement_for, facility_achievement, national_summary

HEADER = "facility_code,fiscal_year,indicator_key,indicator_name,kind,unit,direction,target,result,note\n"
GOOD_ROW = "kawaguchi-employment-support-corner,2013,employments,就職者数,count,人,higher,100,120,\n"
PASSWORD = "yearly-goals-2012-secret"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def count_targets(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Target))


def stored(app, code, fiscal_year, key) -> Target | None:
    with app.app_context():
        target = db.session.scalar(
            select(Target).join(Facility).where(Facility.code == code, Target.fiscal_year == fiscal_year,
                                                Target.indicator_key == key))
        if target is not None:
            db.session.expunge(target)
        return target


def write_csv(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "targets.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def shipped(app):
    with app.app_context():
        return load_shipped_targets()


def statuses(app, fiscal_year=2012) -> dict[str, str]:
    with app.app_context():
        frame = facility_achievement(fiscal_year)
    return dict(zip(frame["facility_code"], frame["status"]))


# ---------------------------------------------------------------- the shipped figures

def test_shipped_figures_load_and_reload_as_updates(app, shipped):
    assert shipped == (19, 0)
    with app.app_context():
        assert load_shipped_targets() == (0, 19)
    assert count_targets(app) == 19


def test_cli_imports_the_shipped_file_without_an_argument(app, runner):
    result = runner.invoke(args=["targets", "import"])
    assert result.exit_code == 0, result.output
    assert "19 created, 0 updated" in result.output
    assert stored(app, "job-station-gifu", 2012, "consultations").result == 10941
    assert "ジョブステーションぎふ・たじみの合計" in stored(app, "job-station-gifu", 2012, "employments").note
    assert stored(app, "job-station-tajimi", 2012, "employments") is None


def test_shipped_figures_are_classified_as_the_seed_says(app, shipped):
    result = statuses(app)
    assert result["kawaguchi-employment-support-corner"] == "achieved"  # 例: 川口市 達成
    assert result["soja-employment-support"] == "partly"                # 例: 総社市 一部達成
    assert result["workport-niigata"] == "not_achieved"                  # 1,910 < 2,300; 16 < 40
    assert result["job-station-gifu"] == "partly"                        # 10,941 < 11,100
    for code in ("aomori-young-job-plaza", "fukuoka-middle-aged-center", "okinawa-jobseeker-support-center",
                 "tokorozawa-welfare-employment-corner", "ebisu-work-saga"):
        assert result[code] == "achieved"
    assert "job-station-tajimi" not in result  # no targets: not classified


def test_achievement_for_judges_each_target(app, shipped):
    with app.app_context():
        kawaguchi = db.session.scalar(select(Facility).where(
            Facility.code == "kawaguchi-employment-support-corner"))
        frame = achievement_for(2012, [kawaguchi.id])
    rows = frame.set_index("indicator_key")
    assert rows.loc["employments", ["target", "result"]].tolist() == [80, 317]
    assert bool(rows.loc["employments", "met"]) is True
    assert rows.loc["seminars", "unit"] == "回"
    assert set(frame["status_label"]) == {"達成"}
    with app.app_context():
        assert achievement_for(2012, []).empty
        assert len(achievement_for(2012)) == 19


def test_national_summary_on_the_shipped_data(app, shipped):
    with app.app_context():
        summary = national_summary(2012).to_dict("records")
        saitama = national_summary(2012, prefecture="埼玉県").to_dict("records")
        municipal = national_summary(2012, operator_kind="municipal").to_dict("records")
        assert national_summary(2013).empty
    assert summary == [{"fiscal_year": 2012, "n_classified": 9, "achieved": 6, "partly": 2,
                        "not_achieved": 1,
                        "employments": 1102 + 1851 + 185 + 317 + 147 + 16 + 305}]
    assert saitama[0]["achieved"] == 2 and saitama[0]["employments"] == 317 + 147
    assert [municipal[0][k] for k in ("achieved", "partly", "not_achieved")] == [3, 1, 1]


def test_cli_list_shows_marks_and_the_summary(app, runner, shipped):
    result = runner.invoke(args=["targets", "list", "--fiscal-year", "2012"])
    assert result.exit_code == 0, result.output
    assert "× 相談件数\t10,941件 / 目標 11,100件" in result.output
    assert "達成 6, 一部達成 2, 未達成 1; 就職者数 3,923人" in result.output


# ---------------------------------------------------------------- import

def test_import_upserts_by_facility_year_and_indicator(app, runner, tmp_path, shipped):
    path = write_csv(tmp_path, HEADER
                     + "kawaguchi-employment-support-corner,2012,employments,就職者数,count,人,higher,80,320,再集計\n"
                     + GOOD_ROW)
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated" in result.output
    updated = stored(app, "kawaguchi-employment-support-corner", 2012, "employments")
    assert (updated.result, updated.note) == (320, "再集計")
    assert count_targets(app) == 20


def test_catalog_indicators_need_only_the_required_columns(app, runner, tmp_path):
    path = write_csv(tmp_path, "facility_code,fiscal_year,indicator_key,target,result\n"
                               "soja-employment-support,2013,employment_rate,40%,\"55.5%\"\n"
                               "job-station-gifu,2013,consultations,\"11,100\",\n")
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code == 0, result.output
    rate = stored(app, "soja-employment-support", 2013, "employment_rate")
    assert (rate.indicator_name, rate.kind, rate.unit, rate.direction, rate.target, rate.result) == \
        ("就職率", "rate", "%", "higher", 40, 55.5)
    assert stored(app, "job-station-gifu", 2013, "consultations").result is None


BAD_ROWS = {
    "bad number": ("kawaguchi-employment-support-corner,2013,users,利用者数,count,人,higher,many,,\n",
                   "target"),
    "unknown facility": ("no-such-counter,2013,users,利用者数,count,人,higher,10,,\n", "facility_code"),
    "unknown unit": ("kawaguchi-employment-support-corner,2013,users,利用者数,count,kg,higher,10,,\n", "unit"),
    "unknown kind": ("kawaguchi-employment-support-corner,2013,waits,待ち時間,duration,分,lower,10,,\n", "kind"),
    "rate above 100": ("soja-employment-support,2013,employment_rate,就職率,rate,%,higher,40,140,\n", "result"),
    "bad direction": ("kawaguchi-employment-support-corner,2013,users,利用者数,count,人,down,10,,\n", "direction"),
    "bad year": ("kawaguchi-employment-support-corner,H24,users,利用者数,count,人,higher,10,,\n", "fiscal_year"),
    "custom key without name": ("kawaguchi-employment-support-corner,2013,visits,,count,人,higher,10,,\n",
                                "indicator_name"),
    "duplicate key": (GOOD_ROW, "indicator_key"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_row_names_its_line_and_column_and_stores_nothing(app, runner, tmp_path, case):
    row, column = BAD_ROWS[case]
    path = write_csv(tmp_path, HEADER + GOOD_ROW + row)
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code != 0
    assert f"line 3, column '{column}'" in result.output, result.output
    assert "Nothing was imported" in result.output and "Traceback" not in result.output
    assert count_targets(app) == 0
    if case == "duplicate key":
        assert "repeats line 2" in result.output


def test_every_bad_row_is_reported(runner, tmp_path):
    path = write_csv(tmp_path, HEADER + BAD_ROWS["bad number"][0] + BAD_ROWS["unknown facility"][0])
    result = runner.invoke(args=["targets", "import", str(path)])
    assert "line 2, column 'target'" in result.output and "line 3, column 'facility_code'" in result.output


def test_a_missing_column_is_reported(app, runner, tmp_path):
    path = write_csv(tmp_path, "facility_code,fiscal_year,indicator_key,result\nworkport-niigata,2012,users,1910\n")
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code != 0
    assert "line 1" in result.output and "missing column(s) target" in result.output
    assert count_targets(app) == 0


def test_shift_jis_csv_saved_by_excel_is_read(app, runner, tmp_path):
    path = write_csv(tmp_path, HEADER + GOOD_ROW.replace("120,\n", "120,市の集計\n"), encoding="cp932")
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code == 0, result.output
    target = stored(app, "kawaguchi-employment-support-corner", 2013, "employments")
    assert (target.indicator_name, target.note) == ("就職者数", "市の集計")


def workbook_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["facility_code", "fiscal_year", "indicator_key", "indicator_name", "kind", "unit",
                  "direction", "target", "result", "note"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_import_works(app, runner, tmp_path):
    path = tmp_path / "targets.xlsx"
    path.write_bytes(workbook_bytes([
        ["workport-niigata", 2012, "users", "利用者数", "count", "人", "higher", 2300, 1910, None],
        [None] * 10,  # blank rows are skipped
        ["aomori-young-job-plaza", 2012, "employment_rate", "就職率", "rate", "%", None, 50, 66.7, None],
    ]))
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    assert stored(app, "workport-niigata", 2012, "users").result == 1910
    assert stored(app, "aomori-young-job-plaza", 2012, "employment_rate").result == pytest.approx(66.7)


def test_xlsx_errors_name_the_row(app, runner, tmp_path):
    path = tmp_path / "targets.xlsx"
    path.write_bytes(workbook_bytes([
        ["workport-niigata", 2012, "users", "利用者数", "count", "人", "higher", 2300, 1910, None],
        ["workport-niigata", 2012, "employments", "就職者数", "count", "人", "higher", "forty", 16, None],
    ]))
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code != 0 and "row 3, column 'target'" in result.output
    assert count_targets(app) == 0


def test_a_file_that_is_not_a_workbook_is_reported(runner, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    result = runner.invoke(args=["targets", "import", str(path)])
    assert result.exit_code != 0 and "Excel" in result.output and "Traceback" not in result.output


def test_shipped_csv_is_utf8_with_the_documented_columns():
    first = SHIPPED_TARGETS_CSV.read_text(encoding="utf-8").splitlines()[0]
    assert first + "\n" == HEADER


# ---------------------------------------------------------------- the admin page

def make_user(app, username, role):
    with app.app_context():
        create_user(username, role, PASSWORD,
                    ["kawaguchi-employment-support-corner"] if role == "manager" else [])
        db.session.commit()


def csrf_token(response) -> str:
    match = CSRF_PATTERN.search(response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, username):
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD,
                                                "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def admin_client(app, client):
    make_user(app, "targets-admin", "admin")
    login(client, "targets-admin")
    return client


EDIT_URL = "/admin/targets/kawaguchi-employment-support-corner/2012"


def test_the_page_is_for_admins_only(app, client):
    assert client.get("/admin/targets/").status_code == 302  # to the login page
    make_user(app, "targets-manager", "manager")
    login(client, "targets-manager")
    assert client.get("/admin/targets/").status_code == 403
    assert client.get(EDIT_URL).status_code == 403


def test_the_page_shows_the_summary_and_facilities(admin_client, shipped):
    page = admin_client.get("/admin/targets/?fy=2012")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "6 施設" in text and "3,923 人" in text and EDIT_URL in text
    assert "34" in text and "44,128" in text  # the seed's national figures alongside
    filtered = admin_client.get("/admin/targets/?fy=2012&operator_kind=prefecture").get_data(as_text=True)
    assert EDIT_URL not in filtered and "/admin/targets/job-station-gifu/2012" in filtered


def test_editing_updates_adds_and_deletes(app, admin_client, shipped):
    ids = {key: stored(app, "kawaguchi-employment-support-corner", 2012, key).id
           for key in ("employments", "referral_employments", "seminars")}
    page = admin_client.get(EDIT_URL)
    assert page.status_code == 200 and "セミナー開催回数" in page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(page)}
    for key, target_id in ids.items():
        data[f"target-{target_id}"] = "80"
        data[f"result-{target_id}"] = "1,317" if key == "employments" else "2"
        data[f"direction-{target_id}"] = "higher"
    data[f"delete-{ids['seminars']}"] = "1"
    data.update({"new-key": "users", "new-target": "5000", "new-result": "", "new-note": "試行"})
    response = admin_client.post(EDIT_URL, data=data)
    assert response.status_code == 302
    assert stored(app, "kawaguchi-employment-support-corner", 2012, "employments").result == 1317
    assert stored(app, "kawaguchi-employment-support-corner", 2012, "seminars") is None
    added = stored(app, "kawaguchi-employment-support-corner", 2012, "users")
    assert (added.target, added.result, added.note) == (5000, None, "試行")


def test_a_bad_number_on_the_page_saves_nothing(app, admin_client, shipped):
    target = stored(app, "kawaguchi-employment-support-corner", 2012, "employments")
    page = admin_client.get(EDIT_URL)
    response = admin_client.post(EDIT_URL, data={
        "csrf_token": csrf_token(page), f"target-{target.id}": "八十", f"result-{target.id}": "999"})
    assert response.status_code == 400
    assert "数値ではありません" in response.get_data(as_text=True)
    assert stored(app, "kawaguchi-employment-support-corner", 2012, "employments").result == 317


def test_posting_without_csrf_is_refused(app, admin_client, shipped):
    target = stored(app, "kawaguchi-employment-support-corner", 2012, "employments")
    response = admin_client.post(EDIT_URL, data={f"target-{target.id}": "1", f"result-{target.id}": "0"})
    assert response.status_code == 400
    assert stored(app, "kawaguchi-employment-support-corner", 2012, "employments").target == 80


def test_unknown_facility_is_404(admin_client):
    assert admin_client.get("/admin/targets/no-such-counter/2012").status_code == 404


def test_upload_on_the_page_imports_or_lists_errors(app, admin_client):
    page = admin_client.get("/admin/targets/")
    token = csrf_token(page)
    good = workbook_bytes([["ebisu-work-saga", 2012, "employments", "就職者数", "count", "人", "higher", 90, 305, None]])
    response = admin_client.post("/admin/targets/import", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(good), "targets.xlsx")})
    assert response.status_code == 302
    assert stored(app, "ebisu-work-saga", 2012, "employments").result == 305
    bad = (HEADER + "no-such-counter,2012,users,利用者数,count,人,higher,10,,\n").encode("cp932")
    response = admin_client.post("/admin/targets/import", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(bad), "bad.csv")})
    assert response.status_code == 400
    assert "line 2, column &#39;facility_code&#39;" in response.get_data(as_text=True)
    assert count_targets(app) == 1


def test_the_picker_opens_a_facility_year(admin_client):
    response = admin_client.get("/admin/targets/open?facility_code=workport-niigata&fy=2013")
    assert response.status_code == 302 and response.location.endswith("/admin/targets/workport-niigata/2013")
    page = admin_client.get("/admin/targets/workport-niigata/2013")
    assert page.status_code == 200 and "この年度の目標はまだありません" in page.get_data(as_text=True)
    assert admin_client.get("/admin/targets/open?facility_code=workport-niigata&fy=x").status_code == 302


def test_edit_table_shows_every_field_and_adds_with_a_direction(app, admin_client, shipped):
    page = admin_client.get(EDIT_URL)
    html = page.get_data(as_text=True)
    for header in ("指標", "種類", "目標", "実績", "判定方法", "達成", "備考", "最終更新", "削除"):
        assert f'<th scope="col">{header}</th>' in html
    assert 'data-field="kind">件数・人数</td>' in html
    assert re.search(r'data-field="updated_at">\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d</td>', html)
    assert 'id="new-direction"' in html
    stored_rows = dict(re.findall(r'name="((?:target|result|note)-\d+)" value="([^"]*)"', html))
    response = admin_client.post(EDIT_URL, data={
        **stored_rows, "csrf_token": csrf_token(page), "new-key": "users", "new-target": "300",
        "new-direction": "lower"})
    assert response.status_code == 302
    assert stored(app, "kawaguchi-employment-support-corner", 2012, "users").direction == "lower"
    page = admin_client.get(EDIT_URL)
    response = admin_client.post(EDIT_URL, data={
        **stored_rows, "csrf_token": csrf_token(page), "new-key": "consultations", "new-target": "3",
        "new-direction": "x"})
    assert response.status_code == 400 and "判定方法が正しくありません" in response.get_data(as_text=True)
    assert stored(app, "kawaguchi-employment-support-corner", 2012, "consultations") is None
