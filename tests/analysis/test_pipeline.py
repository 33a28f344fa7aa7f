import numpy as np

from analysis import assign_themes


def test_no_catalog_means_discovery_only(dev_comments):
    assignments, themes = assign_themes(dev_comments["comment"], catalog=False, random_state=0)
    assert set(assignments["source"]) <= {"discovery", "no_comment", "unassigned"}
    assert (themes["source"] == "discovery").all() and len(themes) >= 2
    assert assignments.loc[assignments["source"] == "discovery", "theme_id"].str.match(r"D\d\d").all()


def test_repeated_answers_get_the_same_theme():
    texts = ["駐車場が狭い", "駐車場が狭い ", "特になし", None, "土日も開けてほしい"] * 3
    assignments, _ = assign_themes(texts, random_state=0)
    assert len(assignments) == len(texts)
    assert assignments["theme_id"][0] == assignments["theme_id"][1] == "T11"
    assert list(assignments["source"][2:4]) == ["no_comment", "no_comment"]
    assert np.isnan(assignments["score"][2])
