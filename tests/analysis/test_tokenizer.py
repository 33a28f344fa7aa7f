import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from analysis import JapaneseTokenizer, tokenize
from analysis.tokenizer import PARALLEL_MIN_TEXTS


@pytest.fixture
def tokenizer():
    return JapaneseTokenizer()


def test_english_gloss_is_stripped_from_loanword_lemmas(tokenizer):
    # パソコン-personal computer; ブランク-blank
    assert "ブランク" in tokenizer("長いブランクがある")
    assert not any("-" in t for t in tokenizer("ブランクとキャリアとスタッフ"))


@pytest.mark.parametrize(
    "text, compound",
    [("相談員の方", "職員"), ("待ち時間が長い", "待ち時間"), ("午前中に", "午前中"), ("駐車場がない", "駐車場"),
     ("ハローワークで", "ハローワーク"), ("求人検索", "求人検索"), ("応募書類", "応募書類"), ("子育て中", "子育て"),
     ("就職先", "就職")],
)
def test_compounds_split_by_unidic_are_rejoined(tokenizer, text, compound):
    assert compound in tokenizer(text)


def test_light_verbs_numerals_and_stop_words_are_dropped(tokenizer):
    tokens = tokenizer("２台しかないのでもっと増やしてください。相談することができました")
    assert tokens == ["増やす", "相談"]


def test_staff_names_are_not_tokens(tokenizer):
    assert tokenizer("鈴木さんにお世話になりました") == []


def test_synonyms_merge_terminal_spellings(tokenizer):
    for text in ["ﾊﾟｿｺﾝ少なすぎ", "ＰＣの数", "検索機の台数", "検索端末"]:
        assert "端末" in tokenizer(text), text


def test_lemma_unifies_kana_and_kanji_spellings(tokenizer):
    assert tokenizer("しごとがすくない") == tokenizer("仕事が少ない")


def test_display_form_is_the_spelling_people_wrote_most(tokenizer):
    tokenizer.fit(["しごとがない", "しごとを探す", "仕事が少ない", "パソコンが少ない", "PCが古い", "パソコン増やして"])
    assert tokenizer.display_form("仕事") == "しごと"
    assert tokenizer.display_form("端末") == "パソコン"
    assert tokenizer.display_form("unknown-token") == "unknown-token"


def test_analyst_files_extend_stop_words_synonyms_and_phrases(tmp_path):
    (tmp_path / "stop.txt").write_text("# mine\n窓口\n", encoding="utf-8")
    (tmp_path / "syn.tsv").write_text("コピー機\t複合機\n", encoding="utf-8")
    (tmp_path / "phrases.txt").write_text("就労支援\n", encoding="utf-8")
    custom = JapaneseTokenizer(
        stopwords_file=tmp_path / "stop.txt", synonyms_file=tmp_path / "syn.tsv", phrases_file=tmp_path / "phrases.txt"
    )
    assert "窓口" not in custom("窓口が混む")
    assert custom("コピー機がほしい") == ["複合機"]
    assert "就労支援" in custom("就労支援員の窓口")
    bare = JapaneseTokenizer(use_default_resources=False)
    assert "パソコン" in bare("パソコンが少ない")


def test_tokenizer_survives_pickle_and_clone_inside_a_pipeline(dev_comments):
    data = dev_comments[dev_comments["theme"] != "T00"]
    pipeline = make_pipeline(TfidfVectorizer(analyzer=JapaneseTokenizer()), LogisticRegression(max_iter=500))
    pipeline.fit(data["comment"], data["theme"])
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict(data["comment"]), pipeline.predict(data["comment"]))
    cloned = clone(pipeline).fit(data["comment"], data["theme"])
    np.testing.assert_array_equal(cloned.predict(data["comment"]), pipeline.predict(data["comment"]))


def test_two_processes_give_the_same_tokens_as_one(dev_comments):
    comments = [c for c in dev_comments["comment"].dropna()]
    # Distinct texts beyond the parallel threshold, so workers really run.
    texts = [f"{a}{b}" for a, b in zip(comments * 8, comments[7:] * 8 + comments[:7] * 8)][: PARALLEL_MIN_TEXTS + 500]
    sequential = JapaneseTokenizer(n_jobs=1)
    parallel = JapaneseTokenizer(n_jobs=2)
    assert parallel.fit_transform(texts) == sequential.fit_transform(texts)
    assert parallel.display_forms_ == sequential.display_forms_


def test_module_tokenize_returns_one_list_per_text():
    assert tokenize(["職員さんみんな優しい", None, "ー"]) == [["職員", "親切"], [], []]


def test_fast_path_segments_like_the_full_feature_parse(dev_comments):
    # The per-morpheme cache is keyed by the lean MeCab line; the full-feature parse that
    # fills it must split every comment into exactly the same morphemes.
    from analysis.text import normalize
    from analysis.tokenizer import _FULL_FORMAT, _KEY_FORMAT, _format_tagger

    for text in dev_comments["comment"].map(normalize):
        lean = [line for line in _format_tagger(_KEY_FORMAT).parse(text).split("\n") if line]
        full = [line.rsplit("\t", 1)[0] for line in _format_tagger(_FULL_FORMAT).parse(text).split("\n") if line]
        assert lean == full, text


def test_cold_and_warm_caches_give_the_same_tokens(dev_comments):
    texts = list(dev_comments["comment"])
    warm = JapaneseTokenizer()
    warm.transform(texts)
    assert JapaneseTokenizer().transform(texts) == warm.transform(texts)
    assert warm.surface_counts_[("職員", "職員")] > 0


def test_importing_the_package_loads_no_heavy_dependency():
    import subprocess
    import sys

    code = "import sys, analysis; print(sorted(m for m in ('fugashi', 'sklearn', 'pandas', 'flask') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
