"""Japan's prefectures in the national order (JIS X 0401 codes 01 北海道 … 47 沖縄県).

Every list of prefectures or facilities that people read (filters, tables, exports) is sorted
with `prefecture_key` / `facility_key`, never by character code (which puts 京都府 first).
"""
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県",
    "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県",
    "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)
_RANK = {name: index for index, name in enumerate(PREFECTURES, start=1)}


def prefecture_code(name: str) -> int | None:
    """Return the JIS X 0401 code (1–47) of a prefecture's name, None for an unknown name."""
    return _RANK.get(name)


def prefecture_key(name: str) -> tuple[int, str]:
    """Sort key: the national order; unknown names after 沖縄県, by name."""
    return (_RANK.get(name, len(PREFECTURES) + 1), name)


def facility_key(facility) -> tuple:
    """Sort key of a facility (anything with `prefecture` and `code`): prefecture, then code."""
    return (*prefecture_key(facility.prefecture), facility.code)


def sorted_prefectures(names) -> list[str]:
    """The distinct names in `names`, in the national order."""
    return sorted(set(names), key=prefecture_key)
