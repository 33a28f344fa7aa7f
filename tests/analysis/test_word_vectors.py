import numpy as np
import pytest

from analysis import ThemeDiscovery
from analysis import word_vectors
from analysis.word_vectors import WordVectorMean, default_word_vectors, spacy_hash


@pytest.fixture(scope="module")
def vectors():
    loaded = default_word_vectors()
    assert loaded is not None, "make install installs the ja-ginza wheel that holds the vectors"
    return loaded


def test_hash_matches_spacy_string_store():
    # Values from spaCy's documentation of StringStore (nlp.vocab.strings["coffee"] ...).
    assert spacy_hash("coffee") == 3197928453018144401
    assert spacy_hash("I") == 4690420944186131903
    assert spacy_hash("love") == 3702023516439754181


def test_synonyms_are_closer_than_unrelated_words(vectors):
    found, known = vectors.lookup(["パソコン", "PC", "駐車場", "親切", "丁寧"])
    assert known.all()
    similarity = found @ found.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert similarity[3, 4] > similarity[3, 2] + 0.2


def test_unknown_words_get_zero_rows(vectors):
    found, known = vectors.lookup(["親切", "ぬぇぽぷ語"])
    assert list(known) == [True, False]
    assert not found[1].any() and np.isclose(np.linalg.norm(found[0]), 1.0)


def test_comments_without_shared_words_meet_by_meaning(vectors):
    comments = [["パソコン", "少ない"], ["端末", "足りない"], ["駐車場", "狭い"]]
    meaning = WordVectorMean(vectors).fit(comments).transform(comments)
    assert np.allclose(np.linalg.norm(meaning, axis=1), 1.0)
    similarity = meaning @ meaning.T
    assert similarity[0, 1] > similarity[0, 2]


def test_words_unseen_in_fit_still_count(vectors):
    model = WordVectorMean(vectors).fit([["駐車場", "狭い"]])
    meaning = model.transform([["タブレット"], ["ぬぇぽぷ語"]])
    assert np.isclose(np.linalg.norm(meaning[0]), 1.0)
    assert not meaning[1].any()  # no known word: a zero row, not NaN


def test_without_vectors_the_block_is_empty():
    assert WordVectorMean(None).fit([["駐車場"]]).transform([["駐車場"], []]).shape == (2, 0)


def test_discovery_records_which_vectors_it_used(dev_comments, fitted_discovery, vectors):
    assert fitted_discovery.word_vectors_name_ == vectors.name
    sparse_only = ThemeDiscovery(word_vectors=None, random_state=0).fit(dev_comments["comment"])
    assert sparse_only.word_vectors_name_ is None
    assert (sparse_only.labels_ >= 0).sum() == (fitted_discovery.labels_ >= 0).sum()


def test_missing_vectors_package_warns_and_falls_back(monkeypatch):
    monkeypatch.setattr(word_vectors, "PACKAGE", "no-such-vectors-package")
    with pytest.warns(UserWarning, match="sparse features only"):
        assert word_vectors.default_word_vectors.__wrapped__() is None


def test_a_comment_gets_the_same_vector_alone_and_in_any_batch(vectors, dev_comments):
    # Batches differ between one process and forked workers; the outputs must not.
    from analysis.tokenizer import JapaneseTokenizer

    tokens = JapaneseTokenizer().transform(dev_comments["comment"].dropna().head(120))
    model = WordVectorMean(vectors).fit(tokens)
    batch = model.transform(tokens)
    reversed_batch = model.transform(tokens[::-1])[::-1]
    alone = np.vstack([model.transform([t]) for t in tokens])
    np.testing.assert_array_equal(batch, reversed_batch)
    np.testing.assert_array_equal(batch, alone)
