"""The questionnaire: question keys, choices and limits, shared by the form and the API.

Bump `FORM_VERSION` whenever a question or choice changes; each response stores the
version it was answered on so old answers stay interpretable.
"""
import re
from dataclasses import dataclass, field

FORM_VERSION = 1
COMMENT_MAX_LENGTH = 1000
# The comment counter warns from here on, before the limit cuts the text.
COMMENT_WARN_FROM = 900

_READING = re.compile(r"<rt>.*?</rt>")
_TAG = re.compile(r"<[^>]+>")


def shown_text(ruby: str) -> str:
    """The characters a <ruby> label shows, without its readings: its accessible name."""
    return _TAG.sub("", _READING.sub("", ruby))


@dataclass(frozen=True)
class Choice:
    value: str | int
    label: str
    # Label with furigana as HTML <ruby> markup; plain `label` is used where markup can't go.
    ruby: str | None = None

    @property
    def text(self) -> str:
        """What the form shows (「生活保護受給者など」), which may word `label` differently."""
        return shown_text(self.ruby) if self.ruby else self.label


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    kind: str  # "single" | "multi" | "text"
    required: bool
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    max_length: int | None = None
    ruby: str | None = None

    @property
    def text(self) -> str:
        """What the form shows, without the readings."""
        return shown_text(self.ruby) if self.ruby else self.label

    def values(self) -> set:
        return {choice.value for choice in self.choices}

    def label_of(self, value) -> str | None:
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return None


SATISFACTION = Question(
    key="satisfaction",
    label="この施設の利用に満足していますか",
    ruby="この<ruby>施設<rt>しせつ</rt></ruby>の<ruby>利用<rt>りよう</rt></ruby>に<ruby>満足<rt>まんぞく</rt></ruby>していますか",
    kind="single",
    required=True,
    choices=(
        Choice(1, "満足", "<ruby>満足<rt>まんぞく</rt></ruby>"),
        Choice(2, "まあ満足", "まあ<ruby>満足<rt>まんぞく</rt></ruby>"),
        Choice(3, "やや不満", "やや<ruby>不満<rt>ふまん</rt></ruby>"),
        Choice(4, "不満", "<ruby>不満<rt>ふまん</rt></ruby>"),
    ),
)

ESTABLISHMENT = Question(
    key="establishment",
    label="この施設ができてよかったと思いますか",
    ruby="この<ruby>施設<rt>しせつ</rt></ruby>ができてよかったと<ruby>思<rt>おも</rt></ruby>いますか",
    kind="single",
    required=True,
    choices=(
        Choice(1, "そう思う", "そう<ruby>思<rt>おも</rt></ruby>う"),
        Choice(2, "まあそう思う", "まあそう<ruby>思<rt>おも</rt></ruby>う"),
        Choice(3, "あまり思わない", "あまり<ruby>思<rt>おも</rt></ruby>わない"),
        Choice(4, "思わない", "<ruby>思<rt>おも</rt></ruby>わない"),
    ),
)

RESPONDENT_GROUP = Question(
    key="respondent_group",
    label="あてはまるものを選んでください（任意）",
    ruby="あてはまるものを<ruby>選<rt>えら</rt></ruby>んでください（<ruby>任意<rt>にんい</rt></ruby>）",
    kind="single",
    required=False,
    choices=(
        Choice("welfare", "生活保護受給者等", "<ruby>生活保護<rt>せいかつほご</rt></ruby><ruby>受給者<rt>じゅきゅうしゃ</rt></ruby>など"),
        Choice("disability", "障害のある方", "<ruby>障害<rt>しょうがい</rt></ruby>のある<ruby>方<rt>かた</rt></ruby>"),
        Choice("parenting", "子育て中の方", "<ruby>子育<rt>こそだ</rt></ruby>て<ruby>中<rt>ちゅう</rt></ruby>の<ruby>方<rt>かた</rt></ruby>"),
        Choice("youth", "若年者", "<ruby>若<rt>わか</rt></ruby>い<ruby>方<rt>かた</rt></ruby>（<ruby>若年者<rt>じゃくねんしゃ</rt></ruby>）"),
        Choice("middle_aged", "中高年", "<ruby>中高年<rt>ちゅうこうねん</rt></ruby>の<ruby>方<rt>かた</rt></ruby>"),
        Choice("other", "その他", "その<ruby>他<rt>ほか</rt></ruby>"),
    ),
)

SERVICES = Question(
    key="services",
    label="きょう利用したサービス（いくつでも・任意）",
    ruby="きょう<ruby>利用<rt>りよう</rt></ruby>したサービス（いくつでも・<ruby>任意<rt>にんい</rt></ruby>）",
    kind="multi",
    required=False,
    choices=(
        Choice("job_consultation", "仕事の相談・紹介", "<ruby>仕事<rt>しごと</rt></ruby>の<ruby>相談<rt>そうだん</rt></ruby>・<ruby>紹介<rt>しょうかい</rt></ruby>"),
        Choice("job_search", "求人検索（端末）", "<ruby>求人<rt>きゅうじん</rt></ruby><ruby>検索<rt>けんさく</rt></ruby>（パソコン）"),
        Choice("welfare_consultation", "生活・福祉の相談", "<ruby>生活<rt>せいかつ</rt></ruby>・<ruby>福祉<rt>ふくし</rt></ruby>の<ruby>相談<rt>そうだん</rt></ruby>"),
        Choice("application_support", "応募書類・面接の支援", "<ruby>応募<rt>おうぼ</rt></ruby><ruby>書類<rt>しょるい</rt></ruby>・<ruby>面接<rt>めんせつ</rt></ruby>の<ruby>支援<rt>しえん</rt></ruby>"),
        Choice("seminar", "セミナー", "セミナー"),
        Choice("training_info", "職業訓練の案内", "<ruby>職業<rt>しょくぎょう</rt></ruby><ruby>訓練<rt>くんれん</rt></ruby>の<ruby>案内<rt>あんない</rt></ruby>"),
        Choice("other", "その他", "その<ruby>他<rt>ほか</rt></ruby>"),
    ),
)

COMMENT = Question(
    key="comment",
    label="ご意見・ご要望（自由記述・任意）",
    ruby="ご<ruby>意見<rt>いけん</rt></ruby>・ご<ruby>要望<rt>ようぼう</rt></ruby>（<ruby>自由<rt>じゆう</rt></ruby>に<ruby>書<rt>か</rt></ruby>いてください・<ruby>任意<rt>にんい</rt></ruby>）",
    kind="text",
    required=False,
    max_length=COMMENT_MAX_LENGTH,
)

QUESTIONS: tuple[Question, ...] = (SATISFACTION, ESTABLISHMENT, RESPONDENT_GROUP, SERVICES, COMMENT)
QUESTIONS_BY_KEY = {question.key: question for question in QUESTIONS}


def as_json() -> dict:
    """Describe the questionnaire for API clients (offline tablets cache this)."""
    return {
        "version": FORM_VERSION,
        "questions": [
            {
                "key": q.key,
                "label": q.label,
                "kind": q.kind,
                "required": q.required,
                "choices": [{"value": c.value, "label": c.label} for c in q.choices],
                **({"max_length": q.max_length} if q.max_length else {}),
            }
            for q in QUESTIONS
        ],
    }
