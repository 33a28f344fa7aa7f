"""Order and labels of the report and target pages: national prefecture order, era years,
years with data only, an empty year said in words, facility headers without repetition."""
import csv
import io
import re

import pytest

from survey_app.extensions import db
from survey_app.models import Facility, Target
from survey_app.prefectures import PREFECTURES, prefecture_code, sorted_prefectures
from survey_app.timeutil import fiscal_year_label

from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import FACILITY_CODE, FISCAL_YEAR, OTHER_FACILITY_CODE, data_elements

OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')


def select_options(html: str, select_id: str) -> list[tuple[str, bool, str]]:
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert match, select_id
    return [(value, bool(selected), label) for value, selected, label in OPTION.findall(match.group(1))]


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("year, label", [
    (1989, "1989年度（平成元年度）"), (1990, "1990年度（平成2年度）"), (2012, "2012年度（平成24年度）"),
    (2018, "2018年度（平成30年度）"), (2019, "2019年度（令和元年度）"), (2020, "2020年度（令和2年度）"),
    (1988, "1988年度"),
])
def test_fiscal_year_labels_write_the_first_era_year_as_gannen(year, label):
    assert fiscal_year_label(year) == label


def test_prefectures_are_the_47_in_jis_order():
    assert len(PREFECTURES) == 47 == len(set(PREFECTURES))
    assert (prefecture_code("北海道"), prefecture_code("東京都"), prefecture_code("沖縄県")) == (1, 13, 47)
    assert sorted_prefectures(["京都府", "佐賀県", "兵庫県", "北海道", "沖縄県", "青森県"]) == [
        "北海道", "青森県", "京都府", "兵庫県", "佐賀県", "沖縄県"]


def test_overview_filter_table_and_csv_follow_the_national_order(app, admin_client, known_data):
    with app.app_context():
        shipped = {f.prefecture for f in db.session.scalars(db.select(Facility))}
    html = page(admin_client, f"/reports/?fy={FISCAL_YEAR}")
    options = [value for value, _selected, _label in select_options(html, "prefecture") if value]
    assert options[0] == "北海道" and options == sorted(shipped, key=prefecture_code)
    codes = [row["data-facility"] for row in data_elements(html, "data-facility")]
    with app.app_context():
        by_code = {f.code: f.prefecture for f in db.session.scalars(db.select(Facility))}
    ranks = [prefecture_code(by_code[code]) for code in codes]
    assert ranks == sorted(ranks) and len(codes) == len(by_code)
    text = admin_client.get(f"/reports/export/overview.csv?fy={FISCAL_YEAR}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert [row[0] for row in rows] == codes


def test_year_lists_offer_only_years_with_answers_or_targets(app, admin_client, known_data):
    html = page(admin_client, f"/reports/?fy={FISCAL_YEAR}")
    assert [value for value, _s, _l in select_options(html, "fy")] == [str(FISCAL_YEAR + 1), str(FISCAL_YEAR)]
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == FACILITY_CODE))
        db.session.add(Target(facility_id=facility.id, fiscal_year=2019, indicator_key="employments",
                              indicator_name="就職者数", kind="count", unit="人", target=10))
        db.session.commit()
    html = page(admin_client, f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}")
    assert select_options(html, "fy") == [
        (str(FISCAL_YEAR + 1), False, fiscal_year_label(FISCAL_YEAR + 1)),
        (str(FISCAL_YEAR), True, fiscal_year_label(FISCAL_YEAR)),
        ("2019", False, "2019年度（令和元年度）")]
    targets = page(admin_client, "/admin/targets/?fy=2019")
    assert [value for value, _s, _l in select_options(targets, "fy")] == [
        str(FISCAL_YEAR + 1), str(FISCAL_YEAR), "2019"]


def test_manager_year_list_holds_only_years_of_their_facilities(app, manager_client, other_manager_client,
                                                                known_data):
    html = page(other_manager_client, f"/reports/?fy={FISCAL_YEAR}")
    years = [value for value, _s, _l in select_options(html, "fy")]
    assert years == [str(FISCAL_YEAR)]  # the 2025 answer is 川口's only


def test_an_empty_year_says_so_instead_of_zero_of_zero(admin_client, known_data):
    html = page(admin_client, "/reports/?fy=2020")
    assert "2020年度（令和2年度）の回答はまだありません。" in html
    assert "0施設中0施設" not in html
    assert ("2020", True, "2020年度（令和2年度）") in select_options(html, "fy")
    facility = page(admin_client, f"/reports/{FACILITY_CODE}?fy=2020")
    assert "0施設中0施設" not in facility and "回答は全国でもまだありません" in facility


def test_facility_header_names_a_prefectural_facility_once(admin_client, known_data):
    html = page(admin_client, f"/reports/{OTHER_FACILITY_CODE}?fy={FISCAL_YEAR}")
    assert "青森県（都道府県）" in html and "青森県・青森県" not in html
    html = page(admin_client, f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}")
    assert "埼玉県・川口市（市区町村）" in html
    edit = page(admin_client, f"/admin/targets/{OTHER_FACILITY_CODE}/{FISCAL_YEAR}")
    assert "青森県（都道府県）" in edit and "青森県　青森県" not in edit


def test_targets_page_uses_the_reports_names(admin_client, known_data):
    html = page(admin_client, "/admin/targets/?fy=2012")
    assert 'name="fy"' in html and 'name="fiscal_year"' not in html
    assert "運営主体" in html and "実施主体" not in html
    assert ("2012", True, fiscal_year_label(2012)) in select_options(html, "fy")
    prefectures = [value for value, _s, _l in select_options(html, "prefecture") if value]
    assert prefectures == sorted(prefectures, key=prefecture_code) and prefectures[0] == "北海道"
    response = admin_client.get(f"/admin/targets/open?facility_code={FACILITY_CODE}&fy=2013")
    assert response.headers["Location"].endswith(f"/admin/targets/{FACILITY_CODE}/2013")


def add_no_comment_answer(app, run_id: int) -> None:
    import hashlib
    import uuid
    from datetime import datetime

    from survey_app.models import Response, ResponseTheme
    with app.app_context():
        facility = db.session.scalar(db.select(Facility).where(Facility.code == FACILITY_CODE))
        moment = datetime(2024, 6, 20, 3, 0)
        response = Response(client_uuid=str(uuid.uuid4()), facility_id=facility.id, form_version=1,
                            channel="api", submitted_at=moment, received_at=moment, fiscal_year=FISCAL_YEAR,
                            satisfaction=1, establishment=1, services=[], comment="特になし",
                            content_hash=hashlib.sha256(b"no-comment").hexdigest())
        db.session.add(response)
        db.session.flush()
        db.session.add(ResponseTheme(run_id=run_id, response_id=response.id, theme_id=None,
                                     source="no_comment"))
        db.session.commit()


def test_comment_list_hides_no_comment_answers_unless_asked(app, manager_client, known_data):
    add_no_comment_answer(app, known_data["run_id"])
    url = f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}"
    html = page(manager_client, url)
    total = int(re.search(r'id="comment-count" data-total="(\d+)"', html).group(1))
    assert total == known_data["a_comments"] and ">特になし</p>" not in html
    assert 'id="filter-all" name="all" type="checkbox" value="1">' in html
    shown = page(manager_client, url + "&all=1")
    assert int(re.search(r'id="comment-count" data-total="(\d+)"', shown).group(1)) == total + 1
    assert ">特になし</p>" in shown and 'value="1" checked' in shown


@pytest.mark.parametrize("filters", ["", "&month=2024-06", "&q=待ち時間", "&all=1", "&theme=T04&rating=1"])
def test_comment_export_is_exactly_the_filtered_masked_list(app, manager_client, known_data, filters):
    from survey_app.reports import queries
    add_no_comment_answer(app, known_data["run_id"])
    url = f"/reports/{FACILITY_CODE}?fy={FISCAL_YEAR}{filters}"
    html = page(manager_client, url)
    export = re.search(r'href="([^"]*/comments\.csv[^"]*)"', html).group(1).replace("&amp;", "&")
    response = manager_client.get(export)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))[1:]
    listed = {int(i) for i in re.findall(r'<li class="comment" data-response="(\d+)">', html)}
    total = int(re.search(r'id="comment-count" data-total="(\d+)"', html).group(1))
    assert len(rows) == total
    if total <= queries.COMMENTS_PER_PAGE:
        assert {int(row[0]) for row in rows} == listed
    texts = " ".join(row[-1] for row in rows)
    assert "佐藤" not in texts and "090-1234-5678" not in texts
    assert ("特になし" in texts) == (filters == "&all=1")
