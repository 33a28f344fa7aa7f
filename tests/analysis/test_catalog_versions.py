"""Catalog versions in the database: import, retrain, publish and restore, diff, preview, CLI."""
import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from analysis import catalog_versions, cli, store
from analysis.catalog import DEFAULT_CATALOG_PATH
from analysis.evaluation import cross_validate_catalog, score_mentions
from survey_app.extensions import db

from .catalog_fixtures import PARKING, SMALL_CATALOG, small_catalog_json
from .test_store import FACILITIES, insert_responses


@pytest.fixture
def engine(app):
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
    engine = store.get_engine(url)
    yield engine
    engine.dispose()


def count(engine, table, where=""):
    with engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table} {where}")).scalar_one()


def audit_actions(engine):
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT action, target FROM audit_events ORDER BY id"))]


def insert_comments(engine, comments):
    rows = [{"facility": FACILITIES[i % len(FACILITIES)], "submitted_at": datetime(2025, 5, 1, 1),
             "satisfaction": 1 + i % 4, "comment": text} for i, text in enumerate(comments)]
    insert_responses(engine, rows)


BAD_FILES = [
    (b"{not json", "JSON として読めません"),
    ("カタログ".encode("shift_jis"), "UTF-8"),
    (b"[1, 2]", "オブジェクト"),
    (json.dumps({**SMALL_CATALOG, "format": 9}).encode(), "形式"),
    (json.dumps({**SMALL_CATALOG, "themes": []}).encode(), "テーマ（themes）がありません"),
    (json.dumps({**SMALL_CATALOG, "themes": SMALL_CATALOG["themes"] + SMALL_CATALOG["themes"][:1]}).encode(),
     "T01 が2回"),
    (json.dumps({**SMALL_CATALOG, "examples": [{"comment": "駐車場", "labels": "T99:R"}]}).encode(), "T99"),
    (json.dumps({**SMALL_CATALOG, "examples": [{"comment": "駐車場", "labels": "T07:X"}]}).encode(), "T07:X"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD_FILES)
def test_a_bad_catalog_file_gives_a_clear_error_and_stores_nothing(engine, data, fragment):
    with pytest.raises(catalog_versions.CatalogError) as raised:
        catalog_versions.import_catalog(engine, data)
    assert fragment in raised.value.ja
    assert count(engine, "catalog_versions") == 0 and count(engine, "audit_events") == 0


def test_import_stores_a_version_with_its_own_label_beside_the_shipped_catalog(engine):
    version_id = catalog_versions.import_catalog(engine, small_catalog_json(), created_by="ana")
    versions = catalog_versions.list_versions(engine)
    assert [v["id"] for v in versions] == [version_id, version_id - 1]
    shipped, imported = versions[1], versions[0]
    assert shipped["n_themes"] == 11 and "同梱" in shipped["note"]
    assert imported["n_themes"] == 3 and imported["n_examples"] == 16 and imported["created_by"] == "ana"
    stored = catalog_versions.export_catalog(engine, version_id)
    assert stored["version"] == imported["label"] and imported["label"].endswith(f"-{version_id}")
    assert audit_actions(engine) == [("catalog.import", f"version {version_id}")]


def test_retrain_adds_the_extra_examples_and_measures_both_versions(engine):
    base = catalog_versions.import_catalog(engine, small_catalog_json())
    extra = [{"comment": "窓口が混雑していた", "labels": "T07:R"},
             {"comment": "職員の方が親切でした", "labels": "T01:P;T08:P"}]  # replaces the base example
    seen = []
    version = catalog_versions.retrain(engine, base_id=base, extra_examples=extra, created_by="ana",
                                       progress=lambda *state: seen.append(state))
    assert version["status"] == "ready" and version["parent_id"] == base
    examples = {e["comment"]: e["labels"] for e in version["catalog"]["examples"]}
    assert len(examples) == 17 and examples["職員の方が親切でした"] == "T01:P;T08:P"
    figures = version["cv_figures"]
    assert figures["n_examples"] == 17 and 0 <= figures["micro_f1"] <= 1 and figures["no_comment_f1"] is None
    assert catalog_versions.get_version(engine, base)["cv_figures"]["n_examples"] == 16
    assert ("cv", 5, 5) in seen and ("parent_cv", 5, 5) in seen and seen[0] == ("train", 0, 1)
    assert ("catalog.retrain", f"version {version['id']} from {base}") in audit_actions(engine)


def test_retrain_leaves_out_examples_of_unknown_themes_and_says_so(engine):
    base = catalog_versions.import_catalog(engine, small_catalog_json())
    version_id = catalog_versions.start_retrain(
        engine, base, [{"comment": "駐車場が狭い", "labels": "T42:R"}, {"comment": "受付が混雑", "labels": "T07:R"}])
    version = catalog_versions.get_version(engine, version_id)
    assert "T42" in version["note"]
    comments = {example["comment"] for example in version["catalog"]["examples"]}
    assert "受付が混雑" in comments and "駐車場が狭い" not in comments


def test_publish_then_run_uses_it_and_restore_brings_the_old_one_back(engine, tmp_path, capsys):
    url = engine.url.render_as_string(hide_password=False)
    insert_comments(engine, ["待ち時間が長い", "職員さんが親切", "土曜も開けてほしい"] * 4)
    catalog_file = tmp_path / "published-catalog.json"
    first = catalog_versions.import_catalog(engine, small_catalog_json())
    second = catalog_versions.start_retrain(engine, first, [{"comment": "受付が混雑", "labels": "T07:R"}])
    catalog_versions.run_retrain(engine, second)

    assert catalog_versions.publish(engine, second, catalog_file=catalog_file) == "catalog.publish"
    label = catalog_versions.get_version(engine, second)["label"]
    assert json.loads(catalog_file.read_text(encoding="utf-8"))["version"] == label
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    assert store.latest_run(url)["catalog_version"] == label

    assert catalog_versions.publish(engine, first, catalog_file=catalog_file) == "catalog.restore"
    assert count(engine, "catalog_versions", "WHERE published_at IS NOT NULL") == 1
    old_label = catalog_versions.get_version(engine, first)["label"]
    assert json.loads(catalog_file.read_text(encoding="utf-8"))["version"] == old_label
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    assert store.latest_run(url)["catalog_version"] == old_label
    actions = [a for a, _ in audit_actions(engine)]
    assert actions == ["catalog.import", "catalog.retrain", "catalog.publish", "catalog.restore"]


def test_a_recreated_database_still_runs_with_the_published_catalog_file(engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    insert_comments(engine, ["待ち時間が長い", "職員さんが親切"] * 3)
    version_id = catalog_versions.import_catalog(engine, small_catalog_json())
    catalog_versions.publish(engine, version_id)  # the default file: $SURVEY_CATALOG_FILE
    label = catalog_versions.get_version(engine, version_id)["label"]
    with engine.begin() as connection:  # as `make demo` building a new database
        connection.execute(sa.text("DELETE FROM catalog_versions"))
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    assert store.latest_run(url)["catalog_version"] == label


def test_run_without_any_published_catalog_uses_the_shipped_one(engine):
    url = engine.url.render_as_string(hide_password=False)
    insert_comments(engine, ["待ち時間が長い", "職員さんが親切"] * 3)
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    shipped = json.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    assert store.latest_run(url)["catalog_version"] == shipped["version"]


def test_an_unwritable_catalog_file_publishes_nothing(engine, tmp_path):
    version_id = catalog_versions.import_catalog(engine, small_catalog_json())
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(OSError):
        catalog_versions.publish(engine, version_id, catalog_file=blocker / "catalog.json")
    assert catalog_versions.published_catalog(engine) is None
    assert [a for a, _ in audit_actions(engine)] == ["catalog.import"]


def test_diff_names_added_renamed_and_example_counts():
    promoted = catalog_versions.promote_theme(SMALL_CATALOG, "t12", "駐車場", "車で来る人の声",
                                              [{"comment": c, "labels": "T12:R"} for c in PARKING])
    promoted["themes"][0] = {**promoted["themes"][0], "name": "丁寧・親切な対応"}
    diff = catalog_versions.diff_catalogs(SMALL_CATALOG, promoted)
    assert diff["added"] == [{"theme_id": "T12", "name": "駐車場"}] and diff["removed"] == []
    assert diff["renamed"] == [{"theme_id": "T01", "old": "親切な対応", "new": "丁寧・親切な対応"}]
    assert {r["theme_id"]: (r["old"], r["new"]) for r in diff["examples"]}["T12"] == (0, 5)
    assert diff["examples_added"] == 5 and diff["examples_removed"] == 0
    back = catalog_versions.diff_catalogs(promoted, SMALL_CATALOG)
    assert back["removed"] == [{"theme_id": "T12", "name": "駐車場"}]


@pytest.mark.parametrize(("theme_id", "name", "examples", "fragment"), [
    ("T07", "駐車場", 2, "すでにあります"), ("P1", "駐車場", 2, "T12 のように"), ("T12", " ", 2, "テーマ名"),
    ("T12", "駐車場", 1, "2件以上"),
])
def test_promote_refuses_bad_themes(theme_id, name, examples, fragment):
    with pytest.raises(catalog_versions.CatalogError) as raised:
        catalog_versions.promote_theme(SMALL_CATALOG, theme_id, name, "", [
            {"comment": c, "labels": f"{theme_id}:R"} for c in PARKING[:examples]])
    assert fragment in raised.value.ja


def test_preview_counts_comments_moving_into_a_promoted_theme_with_masked_examples(engine):
    url = engine.url.render_as_string(hide_password=False)
    comments = [*PARKING, "駐車場が狭い、電話は090-1234-5678です", "待ち時間が長い", "職員さんが親切"] * 2
    insert_comments(engine, comments)
    version_id = catalog_versions.import_catalog(engine, small_catalog_json())
    catalog_versions.publish(engine, version_id)
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    promoted = catalog_versions.promote_theme(SMALL_CATALOG, "T12", "駐車場", "",
                                              [{"comment": c, "labels": "T12:R"} for c in PARKING])
    candidate = catalog_versions.validate_catalog(promoted)
    preview = catalog_versions.change_preview(engine, candidate)
    assert preview["n_comments"] == len(comments)
    into_parking = [m for m in preview["moves"] if m["to"] == "T12"]
    assert into_parking and sum(m["count"] for m in into_parking) >= 10
    assert all(m["to_label"] == "駐車場" and 1 <= len(m["examples"]) <= 3 for m in into_parking)
    shown = " ".join(text for m in preview["moves"] for text in m["examples"])
    assert "090-1234-5678" not in shown
    themes = {t["theme_id"]: t for t in preview["themes"]}
    assert themes["T12"]["before"] == 0 and themes["T12"]["after"] >= 10
    assert preview["n_moved"] == sum(m["count"] for m in preview["moves"])


def test_cv_figures_are_the_benchmark_measures():
    gold = [[("T01", "praise")], [("T07", "request"), ("T01", "praise")], []]
    predicted = [[("T01", "praise")], [("T07", "praise")], []]
    figures = score_mentions(gold, predicted, [False, False, True])
    assert figures["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))
    assert figures["polarity"] == 0.5 and figures["main"] == 1.0 and figures["no_comment_f1"] == 1.0
    assert score_mentions(gold[:2], predicted[:2], [False, False])["no_comment_f1"] is None
    with pytest.raises(ValueError, match="at least 10"):
        cross_validate_catalog({**SMALL_CATALOG, "examples": SMALL_CATALOG["examples"][:4]})


# --- command line ---------------------------------------------------------------------------


def test_cli_import_list_export_publish(engine, tmp_path, capsys):
    url = engine.url.render_as_string(hide_password=False)
    source = tmp_path / "small.json"
    source.write_text(small_catalog_json(), encoding="utf-8")
    assert cli.main(["catalog", "import", str(source), "--database-url", url, "--note", "試し"]) == 0
    version_id = catalog_versions.list_versions(engine)[0]["id"]
    assert f"catalog publish {version_id}" in capsys.readouterr().out
    assert cli.main(["catalog", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    assert "試し" in listing and "同梱" in listing
    exported = tmp_path / "out.json"
    assert cli.main(["catalog", "export", str(version_id), "--output", str(exported), "--database-url", url]) == 0
    assert json.loads(exported.read_text(encoding="utf-8"))["themes"] == SMALL_CATALOG["themes"]
    catalog_file = tmp_path / "cat.json"
    assert cli.main(["catalog", "publish", str(version_id), "--catalog-file", str(catalog_file),
                     "--database-url", url]) == 0
    assert "published catalog version" in capsys.readouterr().out and catalog_file.is_file()
    assert cli.main(["catalog", "publish", "1", "--catalog-file", str(catalog_file), "--database-url", url]) == 0
    assert "restored" in capsys.readouterr().out
    assert [a for a, _ in audit_actions(engine)] == ["catalog.import", "catalog.publish", "catalog.restore"]


def test_cli_import_of_a_bad_file_is_a_one_line_error_and_stores_nothing(engine, tmp_path, capsys):
    url = engine.url.render_as_string(hide_password=False)
    source = tmp_path / "bad.json"
    source.write_text(json.dumps({**SMALL_CATALOG, "examples": [{"comment": "x", "labels": "T99:R"}]}))
    assert cli.main(["catalog", "import", str(source), "--database-url", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "T99" in err[0] and "nothing was imported" in err[0]
    assert count(engine, "catalog_versions") == 0
    assert cli.main(["catalog", "publish", "7", "--database-url", url]) == 1
    assert "no catalog version '7'" in capsys.readouterr().err


def test_cli_retrain_prints_figures_and_the_preview(engine, capsys):
    url = engine.url.render_as_string(hide_password=False)
    insert_comments(engine, ["待ち時間が長い", "職員さんが親切", "土曜も開けてほしい"] * 3)
    base = catalog_versions.import_catalog(engine, small_catalog_json())
    catalog_versions.publish(engine, base)
    assert cli.main(["run", "--database-url", url, "--k", "2"]) == 0
    capsys.readouterr()
    assert cli.main(["catalog", "retrain", "--database-url", url, "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "5-fold micro-F1" in out and "would change their main point" in out
    assert catalog_versions.list_versions(engine)[0]["parent_id"] == base


def test_cv_figures_do_not_depend_on_the_number_of_processes():
    serial, seen = cross_validate_catalog(SMALL_CATALOG, n_jobs=1), []
    parallel = cross_validate_catalog(SMALL_CATALOG, n_jobs=2, progress=lambda *state: seen.append(state))
    assert {k: v for k, v in serial.items() if k != "seconds"} == {k: v for k, v in parallel.items() if k != "seconds"}
    assert seen[-1] == (5, 5)
