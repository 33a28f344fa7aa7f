"""A small catalog that trains in about a second, and its JSON text, for the catalog-version tests."""
import json

SMALL_CATALOG = {
    "format": 2, "version": "small-1", "threshold": 0.5, "mention_threshold": 0.35,
    "themes": [
        {"code": "T01", "name": "親切な対応", "description": "職員の対応", "seed_words": ["親切", "丁寧"], "examples": []},
        {"code": "T07", "name": "待ち時間", "description": "", "seed_words": ["待ち時間", "混雑"], "examples": []},
        {"code": "T08", "name": "開庁時間", "description": "", "seed_words": ["土曜", "夜間"], "examples": []},
    ],
    "examples": [{"comment": comment, "labels": labels} for comment, labels in [
        ("職員の方が親切でした", "T01:P"), ("丁寧に説明してもらえた", "T01:P"), ("対応がとても優しかった", "T01:P"),
        ("相談員さんが親身でした", "T01:P"), ("職員さんの態度がよかった", "T01:P"),
        ("待ち時間が長すぎる", "T07:R"), ("一時間も待たされた", "T07:R"), ("混んでいて待った", "T07:R"),
        ("待ち時間を短くしてほしい", "T07:R"), ("予約しても待たされる", "T07:R"),
        ("土曜日も開けてほしい", "T08:R"), ("夜間も相談したい", "T08:R"), ("平日は仕事で来られない", "T08:R"),
        ("日曜にも開いていると助かる", "T08:R"), ("夜7時まで開いていて助かる", "T08:P"),
        ("親切だったが待ち時間が長い", "T01:P;T07:R"),
    ]],
}
# Comments of a theme the small catalog does not know (parking), to promote.
PARKING = ["駐車場が狭くて停められない", "駐車場をもっと広くしてほしい", "車で来ると駐車場が満車で困る",
           "駐車場の台数を増やしてほしい", "駐車場が遠い"]


def small_catalog_json() -> str:
    return json.dumps(SMALL_CATALOG, ensure_ascii=False)
