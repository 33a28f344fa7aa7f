import pytest
from sklearn.metrics import f1_score

from analysis import is_no_comment


@pytest.mark.parametrize(
    "text",
    ["特になし", "なし", "ない", "特にありません", "無し", "とくになし", "ー", "…", "・", "", "   ", None,
     "none", "N/A", "😊", "特に無いです", "今のところ何もないです", "とくにございません", "思いつきません",
     "特に問題ありません", "特記事項なし", "記載なし", "無", "特に申し上げることはありません",
     "特筆すべきことはない"],
)
def test_no_comment_variants_are_detected(text):
    assert is_no_comment(text)


# Thanks and contentment that name no theme say nothing a theme could count (the multi-label
# dev set labels them T00), nor does "nothing" in the languages foreign residents write in.
@pytest.mark.parametrize(
    "text",
    ["ありがとうございました", "満足です", "お世話になりました", "いつもありがとうございます", "よかったです",
     "今のところ不満はないです", "うーん、特にないですね", "思いつきません。すみません", "ﾄｸﾆﾅｼ", "トクニナシ",
     "Nothing in particular.", "没有。", "Không có gì.", "Nada a declarar.", "없습니다", "よろしくお願いいたします"],
)
def test_thanks_and_foreign_nothing_are_no_comment(text):
    assert is_no_comment(text)


@pytest.mark.parametrize(
    "text",
    ["駐輪場が少ない", "しごとがすくない", "スタッフ足りてない", "検索機の台数が少ない", "混みすぎ",
     "決まりました！！！", "遠い", "履歴書の書き方", "書類の記載が難しい",
     "ありがとうございました。駐車場が狭いです", "職員の対応に満足です", "Thank you, the staff were kind",
     "ナガイ", "Too few computers", "相談員の増員をお願いします"],
)
def test_short_real_comments_are_not_no_comment(text):
    assert not is_no_comment(text)


def test_no_comment_f1_on_dev_comments(dev_comments):
    truth = dev_comments["theme"] == "T00"
    predicted = dev_comments["comment"].map(is_no_comment)
    assert f1_score(truth, predicted) >= 0.95


def test_no_comment_f1_on_multilabel_dev_comments(dev_multilabel):
    truth = dev_multilabel["labels"] == "T00:N"
    predicted = dev_multilabel["comment"].map(is_no_comment)
    assert f1_score(truth, predicted) >= 0.98
