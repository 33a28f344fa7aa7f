import json

import pandas as pd
import pytest

from analysis import cli
from analysis.catalog import ThemeCatalog
from analysis.features import analyze_comments
from analysis.clauses import clause_spans, segment_spans
from analysis.mentions import format_labels, parse_labels


def _pieces(text, spans):
    return [text[s:e] for s, e in spans]


@pytest.mark.parametrize(
    "text, clauses",
    [
        ("親切だけど駐車場が狭い", ["親切だけど", "駐車場が狭い"]),
        ("PCの台数が足りないし、待ち時間も長い。", ["PCの台数が足りないし、", "待ち時間も長い。"]),
        ("丁寧でした。ただ、平日しか開いていない", ["丁寧でした。", "ただ、平日しか開いていない"]),
        ("ちかいのは いいけど いつも まつ", ["ちかいのは いいけど ", "いつも まつ"]),
        ("職員の方は親切で…ただ待ち時間が長い", ["職員の方は親切で…", "ただ待ち時間が長い"]),
        ("駐車場が狭い", ["駐車場が狭い"]),
    ],
)
def test_clauses_split_at_sentence_ends_and_contrastive_links(text, clauses):
    assert _pieces(text, clause_spans(text)) == clauses


def test_segments_add_the_comma_pieces_of_a_long_clause():
    text = "パソコンで履歴書を作れるようになり、端末の操作にも慣れて、自信がつきました"
    assert _pieces(text, segment_spans(text)) == [
        text, "パソコンで履歴書を作れるようになり、", "端末の操作にも慣れて、", "自信がつきました"]
    # A short lead-in is not a point of its own.
    assert _pieces("でも、駐車場が狭い", segment_spans("でも、駐車場が狭い")) == ["でも、駐車場が狭い"]


def test_labels_parse_and_format_both_ways():
    assert parse_labels("T07:R;T01:P") == [("T07", "request"), ("T01", "praise")]
    assert parse_labels("T00:N") == [] and parse_labels("t03") == [("T03", None)]
    assert format_labels(parse_labels("T07:R;D01:P")) == "T07:R;D01:P"
    with pytest.raises(ValueError, match="T07:X"):
        parse_labels("T07:X")


TRAINING = pd.DataFrame({
    "comment": ["駐車場が狭い", "駐車場が広くて助かる", "土日も開けてほしい", "土曜に開いていて助かる",
                "職員さんが親切でした", "職員の態度が冷たい", "親切だけど駐車場が狭い",
                "土日に開いていてうれしいが、駐車場が足りない"],
    "labels": ["T11:R", "T11:P", "T08:R", "T08:P", "T01:P", "T01:R", "T01:P;T11:R", "T08:P;T11:R"],
})


def test_a_catalog_trained_on_multi_labels_finds_both_points_with_polarity():
    catalog = ThemeCatalog.train(TRAINING, names={"T01": "対応", "T08": "開庁", "T11": "施設"})
    assert [e["labels"] for e in catalog.examples] == list(TRAINING["labels"])
    result = catalog.mentions(analyze_comments(["職員さんは親切だけど駐車場が狭い"]))
    points = {(code, polarity) for code, polarity, *_ in result[0]}
    assert ("T11", "request") in points and ("T01", "praise") in points


def test_catalog_format_2_round_trips_and_format_1_still_loads(tmp_path):
    catalog = ThemeCatalog.train(TRAINING)
    path = tmp_path / "catalog.json"
    catalog.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == 2 and len(data["examples"]) == len(TRAINING)
    assert ThemeCatalog.load(path).examples == catalog.examples
    old = {"format": 1, "version": "old", "threshold": 0.5, "themes": [
        {"code": "T11", "name": "施設", "examples": ["駐車場が狭い", "駐車場がない"], "seed_words": []},
        {"code": "T08", "name": "開庁", "examples": ["土日に開けて", "夜も開けて"], "seed_words": []}]}
    assert ThemeCatalog.from_dict(old).codes == ["T11", "T08"]


def test_examples_naming_an_unknown_theme_are_refused():
    themes = [{"code": "T11", "name": "施設", "examples": ["駐車場が狭い"]},
              {"code": "T08", "name": "開庁", "examples": ["土日に開けて"]}]
    with pytest.raises(ValueError, match="T99"):
        ThemeCatalog(themes, examples=[{"comment": "何か", "labels": "T99:R"}]).fit()


def test_catalog_train_reads_single_and_multi_label_files_together(tmp_path, capsys):
    multi = tmp_path / "multi.csv"
    TRAINING.assign(id=range(len(TRAINING)))[["id", "comment", "labels"]].to_csv(multi, index=False)
    single = tmp_path / "single.csv"
    pd.DataFrame({"id": [1, 2], "comment": ["夜間も開けてほしい", "駐輪場がない"], "theme": ["T08", "T11"]}).to_csv(
        single, index=False)
    out = tmp_path / "catalog.json"
    assert cli.main(["catalog", "train", "--input", str(single), "--input", str(multi), "--output", str(out),
                     "--base-catalog", "none", "--threshold", "0.5"]) == 0
    catalog = ThemeCatalog.load(out)
    assert len(catalog.examples) == len(TRAINING)
    assert sum(len(t["examples"]) for t in catalog.themes) == 2
    assert "10 comments" in capsys.readouterr().out


def test_catalog_train_names_the_line_of_a_bad_label(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,comment,labels\n1,駐車場が狭い,T11:R\n2,夜も開けて,T08:Q\n", encoding="utf-8")
    assert cli.main(["catalog", "train", "--input", str(bad), "--output", str(tmp_path / "c.json")]) == 1
    assert "line 3" in capsys.readouterr().err
