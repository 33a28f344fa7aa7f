import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from analysis import ThemeDiscovery, class_tfidf
from analysis.themes import adjusted_rand


def test_discovery_is_deterministic_for_a_seed(dev_comments, fitted_discovery):
    again = ThemeDiscovery(random_state=0).fit(dev_comments["comment"])
    np.testing.assert_array_equal(again.labels_, fitted_discovery.labels_)
    assert list(again.themes_["label"]) == list(fitted_discovery.themes_["label"])


def test_no_comment_answers_get_no_theme(dev_comments, fitted_discovery):
    no_comment = (dev_comments["theme"] == "T00").to_numpy()
    assert (fitted_discovery.labels_[no_comment] == -1).all()
    assert (fitted_discovery.labels_[~no_comment] >= 0).all()
    assert np.isnan(fitted_discovery.scores_[no_comment]).all()


def test_discovered_themes_agree_with_human_labels(dev_comments, fitted_discovery):
    content = (dev_comments["theme"] != "T00").to_numpy()
    nmi = normalized_mutual_info_score(dev_comments["theme"][content], fitted_discovery.labels_[content])
    assert nmi >= 0.45  # issue 3's target for automatic k
    assert 6 <= fitted_discovery.n_themes_ <= 16


def test_each_theme_has_label_size_and_distinct_representatives(fitted_discovery):
    themes = fitted_discovery.themes_
    assert themes["size"].sum() == (fitted_discovery.labels_ >= 0).sum()
    assert list(themes["size"]) == sorted(themes["size"], reverse=True)
    for row in themes.itertuples():
        assert row.label and "-" not in row.label  # display forms, no UniDic glosses
        assert 3 <= len(row.representatives) <= 5
        assert len(set(row.representatives)) == len(row.representatives)


def test_fixed_number_of_themes_is_respected(dev_comments):
    model = ThemeDiscovery(n_themes=5, random_state=1).fit(dev_comments["comment"])
    assert model.n_themes_ == 5


def test_predict_sends_new_comments_to_fitted_themes(fitted_discovery):
    labels, scores = fitted_discovery.predict_with_scores(["土日も開けてほしい", "特になし"])
    assert labels[0] >= 0 and labels[1] == -1
    assert 0 < scores[0] <= 1 + 1e-9


def test_discovery_is_clonable_with_unchanged_params():
    model = ThemeDiscovery(n_themes=7, random_state=3)
    assert clone(model).get_params() == model.get_params()


def test_class_tfidf_ranks_distinctive_words_first():
    scores, vocabulary, classes = class_tfidf([["駐車場", "狭い"], ["駐車場", "土日"], ["土日", "夜間"]], [0, 0, 1])
    top_of_first = vocabulary[int(np.argmax(scores[0].toarray()))]
    assert top_of_first == "駐車場"
    assert list(classes) == [0, 1]


def test_adjusted_rand_matches_sklearn():
    rng = np.random.default_rng(0)
    for n, k_a, k_b in ((50, 3, 5), (400, 10, 12), (30, 1, 4), (20, 2, 2)):
        a, b = rng.integers(0, k_a, n), rng.integers(0, k_b, n)
        assert adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
        assert adjusted_rand(a, a) == pytest.approx(1.0)
    single = np.zeros(10, dtype=int)
    assert adjusted_rand(single, single) == adjusted_rand_score(single, single) == 1.0


def test_a_discovered_theme_is_labelled_with_its_most_telling_short_phrase():
    from analysis.themes import central_phrase

    texts = ["相談員をもっと配置してほしいです。よろしくお願いします", "職員を増やしてください"]
    assert central_phrase(texts, ["相談員", "配置"]) == "相談員をもっと配置してほしいです"
    assert central_phrase(["あ" * 40], ["あ"]) == ""  # too long to read at a glance


def test_discovered_labels_are_phrases_not_keyword_lists(fitted_discovery):
    labels = fitted_discovery.themes_["label"]
    assert (~labels.str.contains("・")).mean() >= 0.8
    assert (labels.str.len() <= 24).all()
