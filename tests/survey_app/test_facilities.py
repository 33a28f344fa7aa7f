"""Facility import: the shipped list from the seed document, upserts and bad rows."""
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.facilities import SHIPPED_FACILITIES_CSV
from survey_app.models import Facility

HEADER = "code,name,prefecture,municipality,operator_kind,start_fiscal_year,start_date,hello_work_office,target_groups\n"


def facility(app, code):
    with app.app_context():
        return db.session.scalar(select(Facility).where(Facility.code == code))


def test_shipped_list_has_the_seed_facilities_and_all_80_municipalities(app):
    with app.app_context():
        facilities = db.session.scalars(select(Facility)).all()
    names = {f.name for f in facilities}
    for expected in ["ヤングジョブプラザあおもり", "ジョブステーションぎふ", "ジョブステーションたじみ",
                     "福岡県中高年就職支援センター", "沖縄県求職者総合支援センター", "ワークポート新潟"]:
        assert expected in names
    assert any("えびすワークさがし" in n for n in names)
    municipalities = {f.municipality for f in facilities}
    assert {"川口市", "所沢市", "総社市", "佐賀市", "新潟市", "鳥栖市", "北海道", "沖縄県"} <= municipalities
    assert len(municipalities) == 80  # 24 (平成23年度) + 56 (平成24年度) 自治体
    by_year = {year: {f.municipality for f in facilities if f.start_fiscal_year == year} for year in (2011, 2012)}
    assert len(by_year[2011]) == 24 and len(by_year[2012]) == 56


def test_seed_details_are_kept(app):
    kawaguchi = facility(app, "kawaguchi-employment-support-corner")
    assert kawaguchi.start_date.isoformat() == "2011-12-01"
    assert kawaguchi.hello_work_office == "ハローワーク川口"
    assert kawaguchi.operator_kind == "municipal" and kawaguchi.operator_kind_label == "市区町村"
    assert kawaguchi.target_groups == ["welfare"]
    assert facility(app, "aomori-young-job-plaza").operator_kind_label == "都道府県"


def test_import_upserts_by_code(app, runner, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(HEADER
                    + "kawaguchi-employment-support-corner,川口市 新しい名前,埼玉県,川口市,municipal,2011,,,welfare\n"
                    + "test-new-counter,テスト窓口,東京都,新宿区,municipal,2024,2024-04-01,ハローワーク新宿,\n",
                    encoding="utf-8")
    result = runner.invoke(args=["facilities", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated" in result.output
    assert facility(app, "kawaguchi-employment-support-corner").name == "川口市 新しい名前"
    assert facility(app, "test-new-counter").start_fiscal_year == 2024


def test_import_reads_shift_jis_saved_by_excel(app, runner, tmp_path):
    path = tmp_path / "sjis.csv"
    path.write_bytes((HEADER + "sjis-counter,シフトJIS窓口,大阪府,大阪市,municipal,2012,,,\n").encode("cp932"))
    assert runner.invoke(args=["facilities", "import", str(path)]).exit_code == 0
    assert facility(app, "sjis-counter").name == "シフトJIS窓口"


def test_bad_row_names_its_line_and_imports_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER
                    + "good-counter,良い窓口,東京都,新宿区,municipal,2012,,,\n"
                    + "bad-counter,悪い窓口,東京都,新宿区,national,2012,,,\n", encoding="utf-8")
    result = runner.invoke(args=["facilities", "import", str(path)])
    assert result.exit_code != 0
    assert "line 3" in result.output and "operator_kind" in result.output
    assert "Traceback" not in result.output
    assert facility(app, "good-counter") is None


def test_bad_values_are_reported(app, runner, tmp_path):
    cases = {
        "Bad Code!,x,東京都,新宿区,municipal,2012,,,\n": "code",
        "ok-code,x,東京都,新宿区,municipal,twenty,,,\n": "start_fiscal_year",
        "ok-code,x,東京都,新宿区,municipal,2012,2012-13-40,,\n": "start_date",
        "ok-code,x,東京都,新宿区,municipal,2012,,,aliens\n": "target_groups",
        "ok-code,,東京都,新宿区,municipal,2012,,,\n": "name",
    }
    for row, word in cases.items():
        path = tmp_path / "bad.csv"
        path.write_text(HEADER + row, encoding="utf-8")
        result = runner.invoke(args=["facilities", "import", str(path)])
        assert result.exit_code != 0 and "line 2" in result.output and word in result.output, row


def test_missing_column_is_reported(runner, tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("code,name\nx-y,z\n", encoding="utf-8")
    result = runner.invoke(args=["facilities", "import", str(path)])
    assert result.exit_code != 0 and "missing column" in result.output


def test_reimporting_the_shipped_list_changes_nothing(app, runner):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Facility))
    result = runner.invoke(args=["facilities", "import", str(SHIPPED_FACILITIES_CSV)])
    assert "0 created" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Facility)) == before
