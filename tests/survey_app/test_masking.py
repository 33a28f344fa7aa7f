"""Masking of personal data in comments shown on report pages and in exports."""
import pytest

from analysis.masking import (
    EMAIL_MASK,
    NAME_MASK,
    NUMBER_MASK,
    PHONE_MASK,
    POSTAL_MASK,
    mask_personal_data,
    masked_for_search,
    search_form,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("電話は090-1234-5678です", f"電話は{PHONE_MASK}です"),
    ("０９０－１２３４－５６７８に連絡ください", f"{PHONE_MASK}に連絡ください"),
    ("03(1234)5678まで", f"{PHONE_MASK}まで"),
    ("03（1234）5678まで", f"{PHONE_MASK}まで"),
    ("連絡先 0312345678", f"連絡先 {PHONE_MASK}"),
    ("携帯09012345678", f"携帯{PHONE_MASK}"),
    ("0120-123-456へ", f"{PHONE_MASK}へ"),
    ("+81 90 1234 5678", PHONE_MASK),
    ("090ー1234ー5678", PHONE_MASK),
    ("メールは taro.yamada@example.co.jp まで", f"メールは {EMAIL_MASK} まで"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", EMAIL_MASK),
    ("〒123-4567 川口市", f"{POSTAL_MASK} 川口市"),
    ("〒１２３－４５６７", POSTAL_MASK),
    ("住所は123-4567です", "住所は［郵便番号］です"),
    ("マイナンバー123456789012を書いた", f"マイナンバー{NUMBER_MASK}を書いた"),
    ("番号 1234 5678 9012 です", f"番号 {NUMBER_MASK} です"),
    ("口座１２３４５６７８", f"口座{NUMBER_MASK}"),
    ("担当の佐藤さんが親切でした", f"担当の{NAME_MASK}さんが親切でした"),
    ("鈴木様にお世話になりました", f"{NAME_MASK}様にお世話になりました"),
    ("田中氏の説明", f"{NAME_MASK}氏の説明"),
    ("健太君と来ました", f"{NAME_MASK}君と来ました"),
    ("ゆいちゃんを連れて", f"{NAME_MASK}ちゃんを連れて"),
    ("山田花子さんありがとう", f"{NAME_MASK}さんありがとう"),
    ("山田 花子さんありがとう", f"{NAME_MASK}さんありがとう"),
    ("マイケルさんが英語で", f"{NAME_MASK}さんが英語で"),
    ("担当佐藤さん", f"担当{NAME_MASK}さん"),
    ("担当の高橋が丁寧でした", f"担当の{NAME_MASK}が丁寧でした"),
    ("担当は中村で、よかった", f"担当は{NAME_MASK}で、よかった"),
    ("田中先生の講座", f"{NAME_MASK}先生の講座"),
    # After 担当: a word UniDic reads as a person's name, or any name with an honorific.
    ("担当が鈴木さんに変わった", f"担当が{NAME_MASK}さんに変わった"),
    ("担当の方の田中さんが", f"担当の方の{NAME_MASK}さんが"),
    ("担当はマイケルで助かった", f"担当は{NAME_MASK}で助かった"),
])
def test_personal_data_is_masked(text, expected):
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize("text", [
    "職員の皆さんが親切でした",
    "職員さんの対応が丁寧",
    "相談員さんに感謝しています",
    "お客様への説明がわかりやすい",
    "利用者様の声を聞いてほしい",
    "支援員さん、ありがとう",
    "お子さん連れでも安心",
    "お母さんと一緒に来た",
    "看護師さんのような優しさ",
    "ハローワークさんと市役所さんの連携",
    "他の施設と同様に土曜も開けてほしい",
    "氏名を書く欄が小さい",
    "様子を見てくれた",
    "担当の方がとても親切でした",
    "担当の部署がわかりにくい",
    "担当の職員が丁寧でした",
    # 担当 followed by an ordinary word is not a name (the rule used to over-match).
    "担当が毎回変わるので…",
    "担当が毎回変わるので困る",
    "担当の方が親切",
    "担当の方が親切でした",
    "担当が変わって不安だった",
    "担当は毎週違う人でした",
    "担当者が丁寧に説明してくれた",
    "2024年4月1日に来ました",
    "待ち時間が30分、10人ほど待っていた",
    "求人検索端末を増設してほしい",
    "休日の午前中も開庁してほしい",
    "10:00-17:00の開庁",
    "1234円かかった",
    "",
])
def test_ordinary_text_is_kept(text):
    assert mask_personal_data(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    # Half-width katakana names and full-width digits are matched on their NFKC form …
    ("ﾀﾅｶさんが親切でした", f"{NAME_MASK}さんが親切でした"),
    ("ｶﾞｸさん", f"{NAME_MASK}さん"),
    ("ﾔﾏﾀﾞ ﾀﾛｳ様へ", f"{NAME_MASK}様へ"),
    ("担当のｻﾄｳが丁寧でした", f"担当の{NAME_MASK}が丁寧でした"),
    ("電話は090ｰ1234ｰ5678です", f"電話は{PHONE_MASK}です"),
    ("携帯０９０ｰ１２３４ｰ５６７８（日中）", f"携帯{PHONE_MASK}（日中）"),
    # … while everything outside the masks stays as the respondent typed it.
    ("ﾒｰﾙ ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ です！", f"ﾒｰﾙ {EMAIL_MASK} です！"),
    ("ｽﾀｯﾌさんが親切", "ｽﾀｯﾌさんが親切"),
    ("㈱ﾔﾏﾀﾞさん", f"㈱{NAME_MASK}さん"),
    # A character the mask cuts (㏠ is 1日) shows its normalised rest, never its original.
    ("口座１２３４５６７８㏠に", f"口座{NUMBER_MASK}日に"),
])
def test_masking_matches_the_nfkc_form_and_keeps_the_original_characters(text, expected):
    assert mask_personal_data(text) == expected


def test_stored_text_is_left_unchanged():
    text = "ﾀﾅｶさん ０９０－１２３４－５６７８"
    copy = str(text)
    mask_personal_data(text)
    masked_for_search(text)
    assert text == copy


def test_search_form_is_the_nfkc_form_of_the_masked_text():
    text = "ﾀﾅｶさんに０９０－１２３４－５６７８で（ＯＫ）"
    assert masked_for_search(text) == search_form(mask_personal_data(text)) == "〇〇さんに[電話番号]で(OK)"
    assert masked_for_search(None) is None and masked_for_search("") is None
    assert search_form("ＯＫ") in masked_for_search(text)


def test_none_becomes_empty_text():
    assert mask_personal_data(None) == ""


def test_several_items_in_one_comment_are_all_masked():
    text = "担当の佐藤さん(090-1234-5678, sato@example.jp)と〒330-0001の件で"
    masked = mask_personal_data(text)
    assert "佐藤" not in masked
    assert "5678" not in masked
    assert "sato@" not in masked
    assert "330" not in masked
    assert masked.startswith("担当の〇〇さん")


def test_markup_is_left_for_the_template_to_escape():
    text = "<script>alert(1)</script> 佐藤さん"
    assert mask_personal_data(text) == f"<script>alert(1)</script> {NAME_MASK}さん"


def test_reports_use_the_flask_free_implementation():
    from survey_app.reports import exports, views

    assert exports.mask_personal_data is mask_personal_data
    assert views.mask_personal_data is mask_personal_data


def test_a_mention_quote_is_its_span_of_the_masked_comment():
    from analysis.masking import masked_span
    from analysis.text import normalize

    comment = "親切でした。ただ、担当の佐藤さんに０９０－１２３４－５６７８へ電話してと言われた"
    read = normalize(mask_personal_data(comment))
    start = read.index("担当")
    quote = masked_span(comment, start, len(read))
    assert quote == "担当の〇〇さんに[電話番号]へ電話してと言われた"
    # The stored masked form gives the same quote; a cut inside a mask shows no digits.
    assert masked_span(masked_for_search(comment), start, len(read)) == quote
    assert masked_span(comment, 0, 0) == read.rstrip("。")
    assert "1234" not in masked_span(comment, start + 8, start + 12)
