"""The analyst notebooks: paired with their py:percent scripts, stored clean, and runnable end
to end with papermill against a small demo database."""
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="install the notebooks extra: pip install -e '.[notebooks]'")
nbformat = pytest.importorskip("nbformat")
papermill = pytest.importorskip("papermill")

from analysis import cli  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NAMES = [path.stem for path in NOTEBOOKS]
REQUIRED = {"theme_discovery", "facility_satisfaction"}
COMMON_PARAMETERS = {"database_url", "fiscal_year", "facility_codes", "output_dir"}
THEME_PARAMETERS = {"n_themes", "seed", "catalog_path", "rename_themes", "add_themes"}
DEMO_RESPONSES = 1500
# The kernel ipykernel installs into the environment; jupyter_client starts it with this Python.
KERNEL = "python3"

RENAMED = "相談員の増員・待ち時間の短縮"
ADDED = {
    "code": "T12", "name": "担当者の固定", "seed_words": ["担当が毎回変わる", "同じ人"],
    "examples": ["担当が毎回変わるので、同じ人に続けて相談したいです", "毎回同じ担当者に相談したい",
                 "担当者がころころ変わるのが困る"],
}


def test_the_analyst_notebooks_are_there():
    assert REQUIRED <= set(NAMES)
    assert (NOTEBOOK_DIR / "jupytext.toml").read_text(encoding="utf-8").count('"ipynb,py:percent"') == 1


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_and_its_percent_script_have_the_same_cells(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{path.name} has no paired {script.name} (jupytext --set-formats ipynb,py:percent)"
    stored = jupytext.read(path)
    paired = jupytext.read(script, fmt="py:percent")
    assert _cells(stored) == _cells(paired), f"{path.name} and {script.name} differ: run jupytext --sync {path}"
    assert [c.metadata.get("tags", []) for c in stored.cells] == [c.metadata.get("tags", []) for c in paired.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_stored_notebooks_carry_no_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [index for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert dirty == [], f"{path.name}: cells {dirty} hold outputs (jupyter nbconvert --clear-output --inplace)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_the_first_code_cell_holds_the_parameters(path):
    notebook = nbformat.read(path, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])
    defined = {line.split("=", 1)[0].strip() for line in first.source.splitlines()
               if "=" in line and not line.startswith((" ", "#"))}
    expected = COMMON_PARAMETERS | (THEME_PARAMETERS if path.stem == "theme_discovery" else set())
    assert expected <= defined


# --- execution against a small database ----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """A SQLite file with the schema (Alembic), demo responses and one stored analysis run."""
    import flask_migrate

    from survey_app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('notebook-db') / 'survey.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "notebook-tests", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        flask_migrate.upgrade()
    result = app.test_cli_runner().invoke(args=["demo-data", "--responses", str(DEMO_RESPONSES)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert cli.main(["run", "--database-url", url]) == 0
    return url


def _execute(name, tmp_path, **parameters):
    output = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / f"{name}.ipynb"), str(output),
        parameters={"output_dir": str(tmp_path / "out"), **parameters},
        kernel_name=KERNEL, cwd=str(NOTEBOOK_DIR), progress_bar=False,
    )
    return nbformat.read(output, as_version=4)


def _markdown(notebook):
    return "".join(str(output.get("data", {}).get("text/markdown", "")) for cell in notebook.cells
                   for output in cell.get("outputs", []))


def _unclassified_shown(notebook, url, fiscal_year=None):
    """The notebook states the stored run's 未分類 count; returns it and the examples listed."""
    from analysis import voices

    count = len(voices.unclassified_comments(url, fiscal_years=fiscal_year))
    shown = _markdown(notebook).split("**未分類**", 1)[1]
    assert f": {count}件" in shown
    return count, shown.count("\n- ")


def _errors(notebook):
    return [output for cell in notebook.cells for output in cell.get("outputs", [])
            if output.output_type == "error"]


def test_facility_satisfaction_runs_end_to_end(demo_database, tmp_path):
    import pandas as pd

    from analysis import store, voices

    notebook = _execute("facility_satisfaction", tmp_path, database_url=demo_database, n_examples=2)
    assert _errors(notebook) == []
    text = _markdown(notebook)
    assert "施設中" in text and "90%以上の利用者満足度" in text
    assert (tmp_path / "out" / "facility_rates.csv").exists()
    # The latest fiscal year (the default): its 未分類 count and n_examples of its comments.
    year = int(store.read_responses(demo_database)["fiscal_year"].max())
    count, examples = _unclassified_shown(notebook, demo_database, year)
    assert examples == min(2, count)  # the count line is there even when every comment is themed
    # Praise / request per theme and satisfaction by mention (Wilson bounds) of the stored run.
    voices_csv = pd.read_csv(tmp_path / "out" / "theme_voices.csv", encoding="utf-8-sig")
    assert list(voices_csv.columns) == ["theme_id", "theme_label", "praise", "request", "total"]
    assert voices_csv["total"].sum() == len(store.read_mentions(demo_database, fiscal_years=year))
    by_mention = pd.read_csv(tmp_path / "out" / "satisfaction_by_mention.csv", encoding="utf-8-sig")
    assert {"satisfaction_low", "satisfaction_high", "other_rate"} <= set(by_mention.columns)
    rated = by_mention.dropna(subset=["satisfaction_rate"])
    assert len(rated) and (rated["satisfaction_low"] <= rated["satisfaction_rate"]).all()
    assert len(pd.read_csv(tmp_path / "out" / "unclassified_comments.csv", encoding="utf-8-sig")) == count


def test_theme_discovery_runs_end_to_end_and_its_catalog_loads_in_the_cli(demo_database, tmp_path, capsys):
    notebook = _execute("theme_discovery", tmp_path, database_url=demo_database, n_themes=8, seed=1,
                        rename_themes={"T07": RENAMED}, add_themes=[ADDED])
    assert _errors(notebook) == []
    count, examples = _unclassified_shown(notebook, demo_database)
    assert examples == min(count, 3)  # n_representatives
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                 for output in cell.get("outputs", []))
    assert images >= 5

    catalog = tmp_path / "out" / "catalog.json"
    comments = tmp_path / "comments.csv"
    comments.write_text("id,comment\n"
                        "1,混んでいる日は1時間近く待ちになるので人を増やしてください\n"
                        "2,担当が毎回変わるので、同じ人に続けて相談したいです\n"
                        "3,特になし\n", encoding="utf-8")
    themed = tmp_path / "themed.csv"
    status = cli.main(["themes", "--catalog", str(catalog), "--input", str(comments),
                       "--output", str(themed), "--summary", str(tmp_path / "summary.txt")])
    assert status == 0, capsys.readouterr().err
    import pandas as pd

    rows = pd.read_csv(themed, encoding="utf-8-sig", dtype=str).set_index("id")
    assert rows.loc["1", "theme_id"] == "T07" and rows.loc["1", "theme_label"] == RENAMED
    assert rows.loc["2", "theme_id"] == "T12" and rows.loc["2", "theme_label"] == "担当者の固定"
    assert pd.isna(rows.loc["3", "theme_id"])


def test_notebooks_run_from_the_database_url_in_the_environment(demo_database, tmp_path, monkeypatch):
    """With no database_url parameter the notebooks read $DATABASE_URL (as `make notebooks` does)."""
    monkeypatch.setenv("DATABASE_URL", demo_database)
    notebook = _execute("facility_satisfaction", tmp_path, fiscal_year=None, min_n=5)
    assert _errors(notebook) == []
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert f"database: {demo_database};" in printed
