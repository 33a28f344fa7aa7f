import pytest

from analysis.features import analyze_comments
from analysis.polarity_lexicon import PolarityLexicon, polar_words


def signs(text):
    return [sign for _, sign in polar_words(text)[0]]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("職員の方は親切でした", [1]),
        ("職員の方は親切じゃなかったです", [-1]),  # じゃない flips praise
        ("満足できませんでした", [-1]),  # ません flips the word before できる
        ("特に問題ないです", [1]),  # a negated complaint is praise
        ("パソコンが足りない", [-1]),
        ("しんせつでした", [1]),  # hiragana finds the lemma 親切
        ("待ち時間が長い", [-1]),
    ],
)
def test_negation_flips_the_polar_word_before_it(text, expected):
    assert signs(text) == expected


@pytest.mark.parametrize(
    "text, requests",
    [
        ("土曜日も開けてほしい", 1),
        ("もっと丁寧に教えてください", 2),
        ("予約できればいい", 1),  # a positive word after a condition is a wish
        ("丁寧に教えてくださいました", 0),  # thanks, not a request
    ],
)
def test_request_cues(text, requests):
    assert polar_words(text)[1] == requests


def test_transform_columns_follow_the_clause():
    analysed = analyze_comments(["親切でした", "親切じゃない", "増やしてほしい"])
    matrix = PolarityLexicon().fit(analysed).transform(analysed).toarray()
    assert matrix.shape == (3, 5)
    praise, complaint, request, last_praise, last_request = matrix.T
    assert praise[0] > 0 and complaint[0] == 0 and last_praise[0] == 1
    assert praise[1] == 0 and complaint[1] > 0 and last_request[1] == 1
    assert request[2] > 0 and last_request[2] == 1
