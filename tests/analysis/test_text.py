import pytest

from analysis import normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＰＣが　少なすぎ！！！", "PCが 少なすぎ!"),
        ("ﾊﾟｿｺﾝ\t少ない", "パソコン 少ない"),
        ("つかれたーーー", "つかれたー"),
        ("。。。", "。"),
        ("笑www", "笑w"),
        ("\u200bなし\n\n", "なし"),
        ("  前後の空白  ", "前後の空白"),
    ],
)
def test_normalize_folds_width_marks_and_whitespace(raw, expected):
    assert normalize(raw) == expected


def test_normalize_keeps_urls_and_addresses_intact():
    assert normalize("www.example.com") == "www.example.com"


@pytest.mark.parametrize("missing", [None, float("nan"), ""])
def test_normalize_treats_missing_as_empty(missing):
    assert normalize(missing) == ""
