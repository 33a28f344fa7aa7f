import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from analysis import ThemeCatalog, assign_themes
from analysis.catalog import DEFAULT_THRESHOLD, choose_threshold


def test_default_catalog_has_the_eleven_named_themes(default_catalog):
    assert default_catalog.codes == [f"T{i:02d}" for i in range(1, 12)]
    assert default_catalog.names["T06"] == "求人検索端末の増設"


def test_catalog_round_trips_through_json(tmp_path, default_catalog):
    path = tmp_path / "catalog.json"
    default_catalog.save(path)
    loaded = ThemeCatalog.load(path)
    assert loaded.to_dict() == default_catalog.to_dict()
    texts = ["駐車場を広くしてほしい", "土曜日もやってほしい"]
    np.testing.assert_allclose(loaded.assign(texts)["score"], default_catalog.assign(texts)["score"])


def test_catalog_cross_validated_macro_f1(dev_comments, default_catalog):
    data = dev_comments[dev_comments["theme"] != "T00"].reset_index(drop=True)
    seeds = {t["code"]: t["seed_words"] for t in default_catalog.themes}
    truth, predicted = [], []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(data, data["theme"]):
        catalog = ThemeCatalog.train(data.iloc[train], seed_words=seeds, threshold=0.0)
        predicted += list(catalog.assign(data["comment"].iloc[test])["theme_id"])
        truth += list(data["theme"].iloc[test])
    # Benchmarks report the real figure (0.91 on this split, 0.906 over split seeds 0-9 when
    # written); this floor guards against regressions.
    assert f1_score(truth, predicted, average="macro") >= 0.88


def test_off_topic_comment_is_unassigned(default_catalog):
    result = default_catalog.assign(["ラーメンが好きです", "駐車場をもっと広くして", "特になし"])
    assert result["theme_id"][0] is None and not result["no_comment"][0]
    assert result["theme_id"][1] == "T11"
    assert result["no_comment"][2] and np.isnan(result["score"][2])


def test_assign_themes_combines_catalog_discovery_and_no_comment(dev_comments):
    new_topic = ["Wi-Fiを使えるようにしてほしい", "無料Wi-Fiがほしい", "Wi-Fiがつながらない", "コピー機を使わせて",
                 "コピーが有料なのは困る", "自販機を置いてほしい", "飲み物の自販機がほしい", "コンセントで充電したい",
                 "スマホの充電ができない", "ネット環境を整えて", "ラーメンが好き"]
    texts = list(dev_comments["comment"]) + new_topic
    assignments, themes, mentions = assign_themes(texts, random_state=0)
    assert len(assignments) == len(texts)
    assert set(assignments["source"]) <= {"catalog", "discovery", "no_comment", "unclassified"}
    assert (assignments.loc[assignments["source"] == "no_comment", "theme_id"].isna()).all()
    discovered = assignments[assignments["source"] == "discovery"]
    assert discovered["theme_id"].str.match(r"D\d\d").all()
    # Most comments of the topic the catalog does not know are left for discovery.
    new_rows = assignments.iloc[len(dev_comments):]
    assert (new_rows["source"] != "catalog").mean() >= 0.6
    assert set(themes["theme_id"].dropna()) >= set(assignments["theme_id"].dropna())
    # Every comment with content is in a theme or in 未分類, and its mentions start with its main point.
    content = assignments[assignments["source"] != "no_comment"]
    unclassified = themes[themes["source"] == "unclassified"]
    assert (content["source"] == "unclassified").sum() == (unclassified["size"].sum() if len(unclassified) else 0)
    main = mentions[mentions["rank"] == 0].set_index("row")["theme_id"]
    themed = assignments[assignments["theme_id"].notna()]
    assert (main.reindex(themed.index) == themed["theme_id"]).all()


def test_catalog_trains_without_any_seed_words():
    texts = ["駐車場が狭い", "駐車場がない", "土日に開けて", "夜も開けてほしい"]
    catalog = ThemeCatalog.train(texts, labels=["T11", "T11", "T08", "T08"])
    assert list(catalog.assign(["駐車場を広く", "特になし"])["theme_id"]) == ["T11", None]


def test_seed_words_match_hiragana_spellings_through_their_reading(default_catalog):
    result = default_catalog.assign(["ちゅうしゃじょうがせまい", "どにちもあいてるといい"])
    assert list(result["theme_id"]) == ["T11", "T08"]


def test_comments_of_a_theme_the_catalog_does_not_know_surface_as_unassigned(dev_comments, default_catalog):
    # Hold the opening-hours theme out entirely (examples and seed words): most of its
    # comments must stay unassigned, while held-out comments of known themes stay assigned.
    data = dev_comments[dev_comments["theme"] != "T00"].reset_index(drop=True)
    new_theme = (data["theme"] == "T08").to_numpy()
    known = data[~new_theme].reset_index(drop=True)
    seeds = {t["code"]: t["seed_words"] for t in default_catalog.themes if t["code"] != "T08"}
    train, test = next(StratifiedKFold(5, shuffle=True, random_state=0).split(known, known["theme"]))
    catalog = ThemeCatalog.train(known.iloc[train], seed_words=seeds, threshold=default_catalog.threshold)
    unseen = catalog.assign(data.loc[new_theme, "comment"])
    assert unseen["theme_id"].isna().mean() >= 0.5
    held_out = catalog.assign(known["comment"].iloc[test])
    assert held_out["theme_id"].notna().mean() >= 0.85
    assigned = held_out["theme_id"].notna().to_numpy()
    truth = known["theme"].iloc[test].to_numpy()
    assert (held_out["theme_id"].to_numpy()[assigned] == truth[assigned]).mean() >= 0.85


def test_the_shipped_threshold_is_the_measured_one(default_catalog):
    # `catalog train` measured it (held_out_scores + choose_threshold); the old 0.30 let
    # almost every comment of an unknown theme into some catalog theme.
    assert default_catalog.threshold == DEFAULT_THRESHOLD
    assert 0.4 <= default_catalog.threshold <= 0.7


def test_threshold_choice_keeps_known_themes_and_leaves_unseen_ones_out():
    scores = pd.DataFrame({
        "score": [0.95, 0.9, 0.85, 0.8, 0.7, 0.64, 0.3, 0.55, 0.65, 0.1],
        "known": [True] * 6 + [False] * 4,
        "correct": [True] * 6 + [False] * 4,
    })
    threshold, table = choose_threshold(scores, grid=[0.25, 0.5, 0.62, 0.66, 0.75])
    # 0.66 would leave all unseen comments out but drops a known one (5/6 < 0.9 kept).
    assert threshold == 0.62
    assert set(table.columns) == {"threshold", "known_kept", "unseen_unassigned", "balanced"}
