import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from analysis.features import count_terms

TRAIN = ["職員の方は親切でした", "駐車場が狭い。ただ PC は多い", "Wi-Fi  を使いたい", "待ち時間が長い!!", "ｱｲｳ", "😀 よかった"]
TEXTS = TRAIN + ["", "親", "PC\tと\n\nWIFI", "見たことのない字ばかり", "駐車場  駐車場  駐車場", "😀😀", "A  b   C"]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)])
@pytest.mark.parametrize("kind", [TfidfVectorizer, CountVectorizer])
def test_character_ngram_counts_are_the_vectorizers_own(kind, ngram_range):
    options = dict(sublinear_tf=True, dtype=np.float32) if kind is TfidfVectorizer else {}
    vectorizer = kind(analyzer="char", ngram_range=ngram_range, **options).fit(TRAIN)
    expected, found = vectorizer.transform(TEXTS), count_terms(vectorizer, TEXTS)
    assert type(found) is type(expected) and found.dtype == expected.dtype and found.shape == expected.shape
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(found, part), getattr(expected, part))


def test_other_vectorizers_fall_back_to_their_own_transform():
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4)).fit(TRAIN)
    assert (count_terms(vectorizer, TEXTS) != vectorizer.transform(TEXTS)).nnz == 0
    words = TfidfVectorizer(analyzer=str.split).fit(TRAIN)
    assert (count_terms(words, TEXTS) != words.transform(TEXTS)).nnz == 0
