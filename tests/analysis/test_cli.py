"""The survey-analysis command line, in-process and once as a real subprocess."""
import csv
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from analysis import cli, store
from survey_app.extensions import db

from .test_store import FACILITIES, insert_responses

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_COMMENTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dev_comments.csv"

needs_dev_comments = pytest.mark.skipif(not DEV_COMMENTS.exists(), reason="dev_comments.csv absent")

COMMENTS = [
    "待ち時間が長い", "相談員さんが親切でした", "求人検索のパソコンを増やしてほしい", "特になし",
    "駐車場が狭い", "土曜日も開けてほしい", "丁寧に話を聞いてもらえた", "", "就職が決まりました",
    "応募書類を添削してもらえて助かった", "なし", "駅から近くて便利", "休日の午前中も開いてほしい",
    "職員の対応が良かった", "予約が取りにくい", "生活保護の相談と仕事探しが同じ場所でできた",
]


def assert_one_line_error(captured, *fragments):
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("survey-analysis: error:")
    assert "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in lines[0]


def write_comments_csv(path, encoding="utf-8", rows=None):
    rows = rows or [(f"c{i:03d}", text) for i, text in enumerate(COMMENTS * 2)]
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "comment"])
        writer.writerows(rows)
    return path


@pytest.fixture
def db_url(app):
    """URL of the test database (SQLite file, or TEST_DATABASE_URL) with the app's schema."""
    with app.app_context():
        return db.engine.url.render_as_string(hide_password=False)


# --- themes -----------------------------------------------------------------------------------


@needs_dev_comments
def test_themes_on_the_dev_comments_gives_one_row_per_input_row(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert cli.main(["themes", "--input", str(DEV_COMMENTS), "--output", str(out)]) == 0
    given = pd.read_csv(DEV_COMMENTS, dtype=str, keep_default_na=False)
    got = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    assert list(got.columns) == ["id", "theme_id", "theme_label", "score", "mentions"]
    assert got["id"].tolist() == given["id"].tolist()
    no_comment = given["theme"] == "T00"
    assert no_comment.any()
    assert (got.loc[no_comment, ["theme_id", "mentions"]] == "").all().all()
    assert (got.loc[~no_comment, "theme_id"] != "").mean() > 0.9
    # The main point leads the mentions: T07:R;T01:P.
    themed = got[got["theme_id"] != ""]
    assert themed["mentions"].str.match(r"^(T\d\d|D\d\d):[PR](;(T\d\d|D\d\d):[PR])*$").all()
    assert (themed["mentions"].str.split(":").str[0] == themed["theme_id"]).all()
    summary = capsys.readouterr().out
    assert "T0" in summary and "    - " in summary and "praise" in summary


def test_themes_writes_the_summary_to_a_file_and_takes_custom_columns(tmp_path, capsys):
    source = tmp_path / "in.csv"
    pd.DataFrame({"no": range(len(COMMENTS)), "text": COMMENTS}).to_csv(source, index=False)
    out, summary = tmp_path / "out.csv", tmp_path / "summary.txt"
    assert cli.main(["themes", "--input", str(source), "--output", str(out), "--text-column", "text",
                     "--id-column", "no", "--summary", str(summary), "--k", "3", "--seed", "1"]) == 0
    assert capsys.readouterr().out == ""
    assert "answers" in summary.read_text(encoding="utf-8")
    got = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert got["id"].tolist() == list(range(len(COMMENTS)))
    assert got.loc[COMMENTS.index("特になし"), "theme_id"] == ""


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp", "utf-8-sig"])
def test_themes_reads_shift_jis_and_other_japanese_encodings(tmp_path, encoding):
    source = write_comments_csv(tmp_path / "in.csv", encoding=encoding)
    out = tmp_path / "out.csv"
    assert cli.main(["themes", "--input", str(source), "--output", str(out), "--catalog", "default"]) == 0
    got = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert len(got) == 2 * len(COMMENTS)
    # Decoded correctly: the catalog recognises the waiting-time comment.
    assert got.loc[0, "theme_id"] != ""


def test_themes_without_a_catalog_discovers_themes_only(tmp_path):
    source = write_comments_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    assert cli.main(["themes", "--input", str(source), "--output", str(out), "--catalog", "none",
                     "--k", "3"]) == 0
    themed = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)["theme_id"]
    assert {t for t in themed if t} <= {"D01", "D02", "D03"}


@pytest.mark.parametrize("make_input, fragments", [
    (lambda p: p.write_text("id,text\n1,待ち時間が長い\n", encoding="utf-8"), ["missing column", "comment"]),
    (lambda p: p.write_bytes(b""), ["empty"]),
    (lambda p: p.write_bytes(b"\x00\x81\xff\xfe\x80" * 50), ["not text"]),
    (lambda p: None, ["no such file"]),
    (lambda p: p.mkdir(), ["directory"]),
])
def test_bad_input_gives_one_line_error_and_non_zero_exit(tmp_path, capsys, make_input, fragments):
    source = tmp_path / "in.csv"
    make_input(source)
    status = cli.main(["themes", "--input", str(source), "--output", str(tmp_path / "out.csv")])
    assert status != 0
    assert_one_line_error(capsys.readouterr(), str(source), *fragments)


def test_a_missing_catalog_file_is_a_one_line_error(tmp_path, capsys):
    source = write_comments_csv(tmp_path / "in.csv")
    status = cli.main(["themes", "--input", str(source), "--output", str(tmp_path / "o.csv"),
                       "--catalog", str(tmp_path / "nope.json")])
    assert status == 1
    assert_one_line_error(capsys.readouterr(), "nope.json")


def test_a_bad_command_line_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["themes", "--input", "x.csv", "--output", "y.csv", "--k", "many"])
    assert exit_info.value.code == 2
    assert_one_line_error(capsys.readouterr(), "--k")


# --- catalog train ------------------------------------------------------------------------------


@needs_dev_comments
def test_catalog_train_writes_a_catalog_the_themes_command_can_use(tmp_path, capsys):
    catalog = tmp_path / "catalog.json"
    assert cli.main(["catalog", "train", "--input", str(DEV_COMMENTS), "--output", str(catalog)]) == 0
    assert catalog.exists() and "trained a catalog" in capsys.readouterr().out
    source = write_comments_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    assert cli.main(["themes", "--input", str(source), "--output", str(out), "--catalog", str(catalog)]) == 0
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == 2 * len(COMMENTS)


def test_catalog_train_needs_a_theme_column(tmp_path, capsys):
    source = write_comments_csv(tmp_path / "in.csv")
    assert cli.main(["catalog", "train", "--input", str(source), "--output", str(tmp_path / "c.json")]) == 1
    assert_one_line_error(capsys.readouterr(), "theme")


# --- run ------------------------------------------------------------------------------------------


def comment_rows(count=60):
    start = datetime(2025, 4, 10, 1, 0)
    return [{"facility": FACILITIES[i % len(FACILITIES)], "submitted_at": start + timedelta(hours=i),
             "satisfaction": 1 + i % 4, "comment": COMMENTS[i % len(COMMENTS)] or None}
            for i in range(count)]


def table_count(url, table):
    engine = store.get_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def test_run_twice_keeps_one_theme_row_per_response(db_url, capsys):
    engine = store.get_engine(db_url)
    insert_responses(engine, comment_rows(60))
    engine.dispose()
    for _ in range(2):
        assert cli.main(["run", "--database-url", db_url, "--k", "3"]) == 0
    assert table_count(db_url, "response_themes") == 60
    assert table_count(db_url, "analysis_runs") == 2
    run = store.latest_run(db_url)
    assert run["status"] == "complete" and run["n_responses"] == 60
    assert run["parameters"]["n_themes"] == 3 and run["parameters"]["random_state"] == 0
    assert {"analysis", "scikit-learn", "fugashi", "pandas"} <= set(run["versions"])
    assert run["catalog_version"]
    out = capsys.readouterr().out
    assert "run " in out and "stored" in out
    themes = store.read_themes(db_url)
    assert themes["size"].sum() == store.read_theme_assignments(db_url)["theme_id"].notna().sum()
    assert any(themes["representative_response_ids"].map(len))


def test_run_filters_by_fiscal_year(db_url):
    engine = store.get_engine(db_url)
    insert_responses(engine, comment_rows(30) + [
        {"facility": FACILITIES[0], "submitted_at": datetime(2024, 6, 1), "satisfaction": 1,
         "comment": "待ち時間が長い"}])
    engine.dispose()
    assert cli.main(["run", "--database-url", db_url, "--fiscal-year", "2025", "--k", "2"]) == 0
    assert table_count(db_url, "response_themes") == 30


def test_run_on_a_database_without_tables_is_a_one_line_error(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    sa.create_engine(url).connect().close()
    assert cli.main(["run", "--database-url", url]) == 1
    assert_one_line_error(capsys.readouterr(), "no table")


@pytest.mark.parametrize("url, fragment", [
    ("nonsense", "bad database URL"),
    ("sqlite:///does/not/exist.sqlite3", "does not exist"),
])
def test_run_with_a_bad_database_url_is_a_one_line_error(capsys, url, fragment):
    assert cli.main(["run", "--database-url", url]) == 1
    assert_one_line_error(capsys.readouterr(), fragment)


def test_run_defaults_to_database_url_from_the_environment(db_url, monkeypatch, capsys):
    engine = store.get_engine(db_url)
    insert_responses(engine, comment_rows(20))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["run", "--k", "2"]) == 0
    assert table_count(db_url, "response_themes") == 20


# --- satisfaction ---------------------------------------------------------------------------------


def test_satisfaction_from_the_database_writes_a_tidy_rates_table(db_url, tmp_path):
    engine = store.get_engine(db_url)
    insert_responses(engine, comment_rows(60))
    engine.dispose()
    out = tmp_path / "rates.csv"
    assert cli.main(["satisfaction", "--database-url", db_url, "--by", "facility", "fiscal_year",
                     "--output", str(out)]) == 0
    rates = pd.read_csv(out, encoding="utf-8-sig")
    assert rates["facility_code"].tolist() == sorted(FACILITIES)
    assert rates["n"].tolist() == [20, 20, 20]
    assert {"satisfaction_rate", "satisfaction_low", "suppressed", "meets_target"} <= set(rates.columns)


def test_satisfaction_from_a_shift_jis_csv_by_month(tmp_path):
    source = tmp_path / "responses.csv"
    frame = pd.DataFrame({
        "facility_code": ["a"] * 12,
        "submitted_at": ["2025-03-31T15:30:00Z"] * 10 + ["2025-04-01T00:30:00+09:00", "2025-03-31T23:59:00+09:00"],
        "satisfaction": [1] * 9 + [3, 2, 4],
        "establishment": [1] * 12,
        "comment": ["満足です"] * 12,
    })
    frame.to_csv(source, index=False, encoding="cp932")
    out = tmp_path / "rates.csv"
    assert cli.main(["satisfaction", "--input", str(source), "--by", "month", "--output", str(out)]) == 0
    rates = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert rates["month"].tolist() == ["2025-03", "2025-04"]
    assert rates["n"].tolist() == [1, 11]
    assert rates["suppressed"].tolist() == [True, False]
    assert rates["satisfaction_rate"].tolist()[0] == ""  # suppressed: empty, never 0% or 100%


def test_satisfaction_rejects_answers_outside_the_scale(tmp_path, capsys):
    source = tmp_path / "responses.csv"
    source.write_text("facility_code,satisfaction,establishment\na,7,1\n", encoding="utf-8")
    assert cli.main(["satisfaction", "--input", str(source), "--output", str(tmp_path / "o.csv")]) == 1
    assert_one_line_error(capsys.readouterr(), "satisfaction", "1–4")


# --- as a real process ----------------------------------------------------------------------------


def test_the_command_runs_as_a_process_and_fails_cleanly(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,待ち時間が長い\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    script = Path(sys.executable).with_name("survey-analysis")  # the console script
    command = [str(script)] if script.exists() else [sys.executable, "-m", "analysis.cli"]
    ok = subprocess.run([*command, "--help"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0 and "themes" in ok.stdout
    failed = subprocess.run([*command, "themes", "--input", str(source), "--output", str(tmp_path / "o.csv")],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert failed.returncode != 0
    assert failed.stderr.startswith("survey-analysis: error:")
    assert "missing column" in failed.stderr and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


def test_satisfaction_from_a_csv_keeps_only_the_fiscal_years_asked_for(tmp_path):
    source = tmp_path / "responses.csv"
    pd.DataFrame({
        "facility_code": ["a", "a", "b"],
        "submitted_at": ["2025-03-31T15:30:00Z", "2025-03-31T14:59:00Z", "2024-06-01T00:00:00Z"],
        "satisfaction": [1, 2, 3],
        "establishment": [1, 1, 1],
    }).to_csv(source, index=False)
    out = tmp_path / "rates.csv"
    assert cli.main(["satisfaction", "--input", str(source), "--fiscal-year", "2024",
                     "--output", str(out), "--min-n", "1"]) == 0
    rates = pd.read_csv(out, encoding="utf-8-sig")
    assert rates[["facility_code", "n"]].values.tolist() == [["a", 1], ["b", 1]]


# Personal data that would dominate a theme's distinctive words if the pipeline read it.
PERSONAL_COMMENTS = [
    *[f"{text} kobayashi@example.com" for text in (
        "連絡はこちらへ", "結果をメールで送ってください", "求人票はメールでほしい", "メールで連絡ください",
        "返事はメールで", "書類の送り先は")],
    *[f"コバヤシさんが{text}" for text in (
        "親切でした", "丁寧でした", "話を聞いてくれた", "書類を見てくれた", "助けてくれた", "優しかった")],
]
PERSONAL_PARTS = ("kobayashi", "example", "コバヤシ", "ｺﾊﾞﾔｼ")


def test_run_builds_labels_words_and_representatives_from_masked_text(db_url, capsys):
    engine = store.get_engine(db_url)
    rows = comment_rows(32)
    start = datetime(2025, 5, 10, 1, 0)
    rows += [{"facility": FACILITIES[0], "submitted_at": start + timedelta(hours=i), "satisfaction": 1,
              "comment": text} for i, text in enumerate(PERSONAL_COMMENTS * 3)]
    insert_responses(engine, rows)
    engine.dispose()
    assert cli.main(["run", "--database-url", db_url, "--catalog", "none", "--k", "4"]) == 0
    out = capsys.readouterr().out
    themes = store.read_themes(db_url)
    shown = [out, *themes["label"], *[word for words in themes["words"] for word in words]]
    for part in PERSONAL_PARTS:
        assert not any(part in text for text in shown), part
    # The masked comments still take part, and representatives still point at responses.
    assert "［メールアドレス］" in out or "〇〇さん" in out
    assert any(themes["representative_response_ids"].map(len))
