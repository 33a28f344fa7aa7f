import numpy as np

import analysis
from analysis import assign_themes


def test_no_catalog_means_discovery_only(dev_comments):
    assignments, themes, _ = assign_themes(dev_comments["comment"], catalog=False, random_state=0)
    assert set(assignments["source"]) <= {"discovery", "no_comment", "unclassified"}
    assert (themes["source"] != "catalog").all() and (themes["source"] == "discovery").sum() >= 2
    assert assignments.loc[assignments["source"] == "discovery", "theme_id"].str.match(r"D\d\d").all()


def test_repeated_answers_get_the_same_theme():
    texts = ["駐車場が狭い", "駐車場が狭い ", "特になし", None, "土日も開けてほしい"] * 3
    assignments, _, mentions = assign_themes(texts, random_state=0)
    assert len(assignments) == len(texts)
    assert assignments["theme_id"][0] == assignments["theme_id"][1] == "T11"
    assert list(assignments["source"][2:4]) == ["no_comment", "no_comment"]
    assert np.isnan(assignments["score"][2])
    # Identical comments make the same points, each keyed by its own input row.
    assert mentions.groupby("row")["theme_id"].apply(tuple).loc[[0, 5, 10]].nunique() == 1


def test_a_comment_that_praises_and_asks_yields_two_mentions_with_their_spans():
    texts = ["職員の方はみなさん親切でした。ただ、午前中に来ると待ち時間が1時間を超える", "特になし"]
    assignments, themes, mentions = assign_themes(texts, random_state=0, discover=False)
    found = {row.theme_id: row for row in mentions[mentions["row"] == 0].itertuples()}
    assert found["T01"].polarity == "praise" and found["T07"].polarity == "request"
    normalized = analysis.normalize(texts[0])
    assert "親切" in normalized[found["T01"].span_start:found["T01"].span_end]
    assert "待ち時間" in normalized[found["T07"].span_start:found["T07"].span_end]
    assert assignments.at[0, "mentions"].split(";")[0] in {"T01:P", "T07:R"}
    assert assignments.at[1, "mentions"] == "" and (mentions["row"] != 1).all()
    summary = themes.set_index("theme_id")
    assert summary.at["T07", "request"] >= 1 and summary.at["T01", "praise"] >= 1


def test_a_complaint_about_the_staff_is_a_request_not_praise():
    _, _, mentions = assign_themes(["職員の方の言葉づかいが冷たく感じました"], random_state=0, discover=False)
    assert list(zip(mentions["theme_id"], mentions["polarity"])) == [("T01", "request")]


def test_content_no_theme_covers_is_unclassified_not_dropped():
    texts = ["ラーメンが好きです", "宇宙の話がしたい", "駐車場が狭い"]
    assignments, themes, _ = assign_themes(texts, random_state=0)
    assert list(assignments["source"][:2]) == ["unclassified", "unclassified"]
    row = themes[themes["source"] == "unclassified"].iloc[0]
    assert row["label"] == "未分類" and row["size"] == 2 and list(row["representatives"]) == [0, 1]


def test_a_discovered_group_the_catalog_places_in_one_theme_is_not_reported_as_new():
    from analysis import ThemeCatalog
    from analysis.features import analyze_comments
    from analysis.pipeline import _known_groups_to_catalog

    catalog = ThemeCatalog.load()
    # Alone, each is below the catalog's threshold; together they lean to 相談員の増員 (T07).
    staff = ["職員をもっと配置してもらえるとありがたいです", "職員をもっと配置してほしい", "スタッフをもっと配置してほしいです"]
    wifi = ["Wi-Fiを使えるようにしてほしい", "無料Wi-Fiがほしい", "Wi-Fiがつながらない"]
    analysed = dict(zip(staff + wifi, analyze_comments(staff + wifi)))
    assert catalog.assign(staff)["theme_id"].isna().all()
    placed = {t: ("D01", "職員を配置", 0.9) for t in staff} | {t: ("D02", "Wi-Fi", 0.9) for t in wifi}
    placed = _known_groups_to_catalog(placed, catalog, analysed)
    assert {placed[t][0] for t in staff} == {"T07"} and placed[staff[0]][1] == catalog.names["T07"]
    assert {placed[t][0] for t in wifi} == {"D02"}
