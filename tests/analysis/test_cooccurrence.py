"""Word frequencies, the co-occurrence table and network, catalog edits, Japanese charts."""
import json

import pandas as pd
import pytest

from analysis import ThemeCatalog
from analysis.cooccurrence import (
    MAX_PROMOTED_EXAMPLES,
    cooccurrence_graph,
    cooccurrence_table,
    edit_catalog,
    word_frequencies,
)

TOKENS = [
    ["待ち時間", "長い"],
    ["待ち時間", "長い", "職員"],
    ["職員", "親切"],
    ["職員", "親切"],
    ["端末", "増やす"],
    ["待ち時間"],
]


def test_word_frequencies_count_occurrences_and_comments():
    frequencies = word_frequencies([["窓口", "窓口", "相談"], ["窓口"]], display={"窓口": "まどぐち"})
    first = frequencies.iloc[0]
    assert (first["word"], first["display"], first["count"], first["documents"]) == ("窓口", "まどぐち", 3, 2)
    assert first["document_share"] == 1.0
    assert frequencies["display"].tolist() == ["まどぐち", "相談"]


def test_word_frequencies_sort_by_count_then_word_and_drop_rare_words():
    frequencies = word_frequencies(TOKENS, min_count=2)
    assert frequencies["word"].tolist() == ["待ち時間", "職員", "親切", "長い"]
    assert frequencies["count"].dtype == "int64"


def test_word_frequencies_of_no_comments_is_an_empty_table():
    frequencies = word_frequencies([])
    assert frequencies.empty
    assert list(frequencies.columns) == ["word", "display", "count", "documents", "document_share"]


def test_cooccurrence_table_gives_the_jaccard_coefficient_of_comment_sets():
    table = cooccurrence_table(TOKENS, min_documents=2, top_edges=None)
    pairs = {(row.word_a, row.word_b): row for row in table.itertuples()}
    assert set(pairs) == {("待ち時間", "長い"), ("職員", "親切")}
    # 待ち時間 in 3 comments, 長い in 2, both in 2: 2 / 3.
    assert pairs[("待ち時間", "長い")].jaccard == pytest.approx(2 / 3)
    assert pairs[("職員", "親切")].jaccard == pytest.approx(2 / 3)
    assert table["documents"].tolist() == [2, 2]


def test_cooccurrence_table_keeps_the_strongest_links_and_the_most_used_words():
    table = cooccurrence_table(TOKENS, min_documents=1, top_edges=1)
    assert len(table) == 1
    assert table.iloc[0]["jaccard"] == 1.0  # 端末 and 増やす always together
    words = cooccurrence_table(TOKENS, max_words=2, min_documents=1, top_edges=None)
    assert set(words["word_a"]) | set(words["word_b"]) <= {"待ち時間", "職員"}


def test_cooccurrence_graph_has_counts_labels_weights_and_communities():
    table = cooccurrence_table(TOKENS, min_documents=1, top_edges=None, display=lambda w: f"<{w}>")
    graph = cooccurrence_graph(table, word_frequencies(TOKENS))
    assert graph.nodes["待ち時間"]["count"] == 3
    assert graph.nodes["待ち時間"]["label"] == "<待ち時間>"
    assert graph.edges["端末", "増やす"]["weight"] == 1.0
    assert {data["community"] for _, data in graph.nodes(data=True)} >= {0, 1}
    assert graph.nodes["端末"]["community"] == graph.nodes["増やす"]["community"]


def test_cooccurrence_graph_of_no_links_is_empty():
    empty = cooccurrence_table([["一語"]], top_edges=None)
    assert cooccurrence_graph(empty).number_of_nodes() == 0


@pytest.fixture(scope="module")
def catalog():
    return ThemeCatalog.load()


def test_edit_catalog_renames_and_adds_without_touching_the_original(catalog):
    edited = edit_catalog(
        catalog, rename={"T07": "相談員の増員・待ち時間の短縮"},
        add=[{"code": "T12", "name": "担当者の固定", "seed_words": ["担当", "同じ人"],
              "examples": ["担当が毎回変わるので同じ人に相談したい", "同じ担当者に続けて見てほしい"]}])
    assert edited.names["T07"] == "相談員の増員・待ち時間の短縮"
    assert edited.names["T12"] == "担当者の固定"
    assert catalog.names["T07"] == "相談員の増員・待ち時間"
    assert "T12" not in catalog.names
    assert edited.version == f"{catalog.version}+edited"
    assert edited.assign(["担当が毎回変わるので、同じ人に続けて相談したいです"])["theme_id"][0] == "T12"


def test_edit_catalog_promotes_a_discovered_theme_with_its_comments_as_examples(catalog):
    assignments = pd.DataFrame({
        "comment": ["けんさくのぱそこんがたりない", "けんさくのぱそこんがたりない！", "駅から近い"],
        "theme_id": ["D04", "D04", "T05"],
        "score": [0.9, 0.8, 0.7],
    })
    edited = edit_catalog(catalog, add=[{"code": "T12", "name": "検索用パソコンの不足",
                                         "from_theme": "D04"}],
                          assignments=assignments, version="2025.1")
    theme = next(t for t in edited.themes if t["code"] == "T12")
    assert theme["examples"] == ["けんさくのぱそこんがたりない", "けんさくのぱそこんがたりない！"]
    assert len(theme["examples"]) <= MAX_PROMOTED_EXAMPLES
    assert edited.version == "2025.1"


@pytest.mark.parametrize("kwargs, error", [
    ({"rename": {"T99": "x"}}, KeyError),
    ({"rename": {"T01": "  "}}, ValueError),
    ({"add": [{"code": "T01", "name": "重複", "seed_words": ["x"]}]}, ValueError),
    ({"add": [{"code": "T12", "name": "", "seed_words": ["x"]}]}, ValueError),
    ({"add": [{"code": "T12", "name": "空"}]}, ValueError),
    ({"add": [{"code": "T12", "name": "誤記", "seed_word": ["x"]}]}, ValueError),
    ({"add": [{"code": "T12", "name": "元なし", "from_theme": "D01"}]}, ValueError),
])
def test_edit_catalog_refuses_bad_edits(catalog, kwargs, error):
    with pytest.raises(error):
        edit_catalog(catalog, **kwargs)


def test_an_edited_catalog_saved_to_json_loads_back(catalog, tmp_path):
    edited = edit_catalog(catalog, rename={"T01": "丁寧な対応"})
    path = tmp_path / "catalog.json"
    edited.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["themes"][0]["name"] == "丁寧な対応"
    assert ThemeCatalog.load(path).names == edited.names


# --- charts -----------------------------------------------------------------------------------


def test_use_japanese_font_picks_noto_sans_cjk_jp():
    plotting = pytest.importorskip("analysis.plotting")
    if plotting.find_japanese_font() is None:
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    assert plotting.use_japanese_font() in plotting.JAPANESE_FONTS
    import matplotlib.pyplot as plt

    assert plt.rcParams["font.sans-serif"][0] == plotting.find_japanese_font()


def test_use_japanese_font_says_how_to_install_one_when_none_is_there():
    plotting = pytest.importorskip("analysis.plotting")
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        plotting.use_japanese_font(preferred=("No Such Font JP",))


def test_japanese_labels_render_without_missing_glyphs(recwarn):
    plotting = pytest.importorskip("analysis.plotting")
    if plotting.find_japanese_font() is None:
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    plotting.use_japanese_font()
    frame = pd.DataFrame({"label": ["丁寧・親切な対応", "求人検索端末の増設"], "value": [0.6, 0.4]})
    ax = plotting.plot_bars(frame, "label", "value", percent=True, title="テーマ別の構成比")
    ax.figure.savefig(io.BytesIO(), format="png")
    plt.close(ax.figure)
    missing = [str(w.message) for w in recwarn if "missing from font" in str(w.message)]
    assert missing == []
