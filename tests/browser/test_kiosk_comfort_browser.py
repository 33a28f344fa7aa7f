"""Kiosk comfort in a real chromium: やり直す, text size, read-aloud, names, comment limit."""
import json

import pytest

from survey_app.questionnaire import QUESTIONS

from .conftest import (IPAD_PORTRAIT, PHONE, assert_missing_answers_reported,
                       assert_no_horizontal_scroll, collect_csp_violations, plain_text, run_axe)
from .test_survey_browser import (FAST_KIOSK, MIN_TAP_TARGET_PX, checked_count, enroll_browser,
                                  stored_responses)

pytestmark = pytest.mark.browser

CALM_KIOSK = {"KIOSK_IDLE_SECONDS": 60}
TABLET_LANDSCAPE = {"viewport": {"width": 1024, "height": 768}, "has_touch": True, "is_mobile": True}
PHONE_390 = {**PHONE, "viewport": {"width": 390, "height": 844}}

# The platform's speech, replaced before the page runs: these voices, and every utterance
# and cancel recorded (Chromium headless has no voice at all).
FAKE_SPEECH = """(voices => {
    window.spoken = [];
    window.cancels = 0;
    window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
    speechSynthesis.getVoices = () => voices;
    speechSynthesis.speak = utterance => window.spoken.push(
        {text: utterance.text, lang: utterance.lang, voice: utterance.voice && utterance.voice.name});
    speechSynthesis.cancel = () => { window.cancels += 1; };
})(%s)"""
JAPANESE_VOICE = {"name": "Kyoko", "lang": "ja-JP", "localService": True, "voiceURI": "kyoko"}


def with_voices(context, voices: list[dict]):
    context.add_init_script(FAKE_SPEECH % json.dumps(voices))
    return context


def uuid_of(page) -> str:
    return page.locator("input[name=client_uuid]").input_value()


def root_font_px(page) -> float:
    return page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")


def fill_half_the_form(page):
    page.get_by_label("まあ満足", exact=True).tap()
    page.locator("label[for=services-2]").tap()
    page.locator("#comment").fill("相談員の方が")


def test_start_over_clears_the_form_at_once(live_server, page, artifacts_dir):
    server = live_server(CALM_KIOSK)
    csp_violations = collect_csp_violations(page)
    form_url = enroll_browser(page, server)
    first_uuid = uuid_of(page)
    fill_half_the_form(page)
    page.get_by_role("button", name="大きく", exact=True).tap()

    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    bottom = page.get_by_role("button", name="最初からやり直す").last
    bottom.scroll_into_view_if_needed()
    assert page.evaluate("() => window.scrollY") > 0
    bottom.tap()

    # At once, on the same page: no question asked, no reload, nothing kept.
    assert dialogs == []
    assert page.url == form_url
    assert checked_count(page) == 0
    assert page.locator("#comment").input_value() == ""
    assert page.locator("#comment-counter .counter__count").inner_text() == "0"
    assert uuid_of(page) not in ("", first_uuid)
    assert page.evaluate("() => window.scrollY") == 0
    assert page.evaluate("() => document.activeElement.id") == "satisfaction-0"
    assert root_font_px(page) == 16
    assert page.get_by_role("button", name="標準", exact=True).get_attribute("aria-pressed") == "true"
    assert page.locator("#idle-overlay").is_hidden()
    page.screenshot(path=str(artifacts_dir / "survey-start-over.png"))

    # The next person answers on a clean form: one answer stored, theirs.
    page.get_by_label("不満", exact=True).tap()
    page.get_by_label("思わない", exact=True).tap()
    page.get_by_role("button", name="送信する").tap()
    page.wait_for_url("**/thanks")
    rows = stored_responses(server.app)
    assert [(row.satisfaction, row.services, row.comment) for row in rows] == [(4, [], None)]
    assert str(rows[0].client_uuid) != first_uuid
    assert csp_violations == []


def test_start_over_clears_the_servers_error_page_too(live_server, page):
    server = live_server(CALM_KIOSK)
    enroll_browser(page, server)
    page.locator("label[for=services-1]").tap()
    page.get_by_role("button", name="送信する").tap()
    assert_missing_answers_reported(page)
    assert page.title().startswith("【入力をご確認ください】")

    page.get_by_role("button", name="最初からやり直す").first.tap()
    assert checked_count(page) == 0
    assert page.locator("#error-summary, .field-error, .question--error").count() == 0
    assert not page.title().startswith("【")
    assert page.locator("[aria-describedby*=error]").count() == 0
    # form.reset() would bring the server's answers back: they are gone for good.
    page.evaluate("() => document.getElementById('survey-form').reset()")
    assert checked_count(page) == 0


def test_tools_are_hidden_without_javascript(live_server, new_context):
    server = live_server()
    page = new_context(java_script_enabled=False).new_page()
    enroll_browser(page, server)
    assert page.locator("#survey-form").is_visible()
    for name in ("最初からやり直す", "標準", "大きく", "読み上げる"):
        assert page.get_by_role("button", name=name).count() == 0, name
    assert page.get_by_role("button", name="送信する").is_visible()


def test_text_size_lasts_for_this_visitor_only(live_server, page):
    server = live_server(FAST_KIOSK | {"KIOSK_IDLE_SECONDS": 2, "KIOSK_COUNTDOWN_SECONDS": 1})
    form_url = enroll_browser(page, server)
    standard = page.get_by_role("button", name="標準", exact=True)
    large = page.get_by_role("button", name="大きく", exact=True)
    assert root_font_px(page) == 16 and standard.get_attribute("aria-pressed") == "true"
    question_px = page.locator("#q-satisfaction .question__label").evaluate(
        "element => parseFloat(getComputedStyle(element).fontSize)")

    large.tap()
    assert large.get_attribute("aria-pressed") == "true"
    assert standard.get_attribute("aria-pressed") == "false"
    assert root_font_px(page) == 20
    assert page.locator("#q-satisfaction .question__label").evaluate(
        "element => parseFloat(getComputedStyle(element).fontSize)") == question_px * 1.25
    standard.tap()
    assert root_font_px(page) == 16
    large.tap()

    # A page the server shows again with a message is still this visitor's: still large.
    page.get_by_role("button", name="送信する").tap()
    assert_missing_answers_reported(page)
    assert root_font_px(page) == 20
    assert large.get_attribute("aria-pressed") == "true"

    # Submitted: the next visitor starts at 標準.
    page.get_by_label("満足", exact=True).tap()
    page.get_by_label("そう思う", exact=True).tap()
    page.get_by_role("button", name="送信する").tap()
    page.wait_for_url("**/thanks")
    assert root_font_px(page) == 16
    page.wait_for_url(form_url, timeout=5_000)
    page.locator("#survey-form").wait_for()
    assert root_font_px(page) == 16

    # Left idle with 大きく: the reset brings 標準 back.
    first_uuid = uuid_of(page)
    large.tap()
    page.get_by_label("満足", exact=True).tap()
    page.wait_for_function(
        "uuid => document.querySelector('input[name=client_uuid]') &&"
        " document.querySelector('input[name=client_uuid]').value !== uuid",
        arg=first_uuid, timeout=8_000)
    page.locator("#survey-form").wait_for()
    assert root_font_px(page) == 16
    assert page.evaluate("() => [localStorage.length, sessionStorage.length]") == [0, 0]


@pytest.mark.parametrize("voices", [
    None,  # chromium's own list: none in headless
    [{"name": "Samantha", "lang": "en-US", "localService": True, "voiceURI": "samantha"}],
    [{"name": "Google 日本語", "lang": "ja-JP", "localService": False, "voiceURI": "google-ja"}],
], ids=["no-voice", "english-only", "network-only"])
def test_read_aloud_is_hidden_without_a_japanese_voice_on_the_device(live_server, new_context,
                                                                      voices):
    server = live_server()
    context = new_context()
    if voices is not None:
        with_voices(context, voices)
    page = context.new_page()
    enroll_browser(page, server)
    if voices is None:
        real = page.evaluate("() => speechSynthesis.getVoices().filter("
                             "v => v.localService && v.lang.startsWith('ja')).length")
        if real:
            pytest.skip("this chromium has a Japanese voice")
    page.wait_for_timeout(300)  # voiceschanged, had it come, would have shown them
    assert page.locator("[data-read-aloud]").count() == len(QUESTIONS)
    assert page.get_by_role("button", name="読み上げる").count() == 0


def test_read_aloud_reads_a_question_and_its_choices_and_stops_on_reset(live_server, new_context):
    server = live_server(CALM_KIOSK)
    context = with_voices(new_context(), [
        {"name": "Google 日本語", "lang": "ja-JP", "localService": False, "voiceURI": "google-ja"},
        JAPANESE_VOICE])
    page = context.new_page()
    enroll_browser(page, server)
    buttons = page.get_by_role("button", name="読み上げる", exact=True)
    assert buttons.count() == len(QUESTIONS)
    box = buttons.first.bounding_box()
    assert box["height"] >= MIN_TAP_TARGET_PX and box["width"] >= MIN_TAP_TARGET_PX

    page.locator("#q-respondent_group").get_by_role("button", name="読み上げる").tap()
    spoken = page.evaluate("() => window.spoken")
    # Read with the readings (a voice may misread 方), by the device's own Japanese voice.
    assert [part["text"] for part in spoken] == [
        "あてはまるものをえらんでください（にんい）", "せいかつほごじゅきゅうしゃなど", "しょうがいのあるかた",
        "こそだてちゅうのかた", "わかいかた（じゃくねんしゃ）", "ちゅうこうねんのかた", "そのほか"]
    assert {(part["lang"], part["voice"]) for part in spoken} == {("ja-JP", "Kyoko")}
    speaking = page.locator("#q-respondent_group").get_by_role("button", name="止める", exact=True)
    assert speaking.is_visible()

    page.locator("#q-satisfaction").get_by_role("button", name="読み上げる").tap()
    assert page.evaluate("() => window.spoken")[len(spoken)]["text"] == "このしせつのりようにまんぞくしていますか"
    assert page.evaluate("() => window.spoken")[len(spoken) + 1]["text"] == "ひっす"

    # やり直す stops the voice: the next person hears nothing of the last one's page.
    cancels = page.evaluate("() => window.cancels")
    page.get_by_role("button", name="最初からやり直す").first.tap()
    assert page.evaluate("() => window.cancels") > cancels
    assert page.get_by_role("button", name="止める").count() == 0
    assert buttons.count() == len(QUESTIONS)


def test_accessible_names_are_the_visible_text_without_readings(live_server, page):
    server = live_server()
    enroll_browser(page, server)
    cdp = page.context.new_cdp_session(page)
    chromium_names = {
        (node["role"]["value"], node.get("name", {}).get("value", ""))
        for node in cdp.send("Accessibility.getFullAXTree")["nodes"] if "role" in node}
    for index, question in enumerate(QUESTIONS, start=1):
        block = page.locator(f"#q-{question.key}")
        visible = plain_text(block.locator(".question__label"))
        assert question.text in visible
        assert all(reading not in visible for reading in ("しせつ", "りよう", "にんい", "いけん"))
        role = "textbox" if question.kind == "text" else "group"
        assert page.get_by_role(role, name=visible, exact=True).count() == 1, visible
        assert (role, visible) in chromium_names, visible
        for number, choice in enumerate(question.choices):
            shown = plain_text(page.locator(f"label[for={question.key}-{number}]"))
            assert shown == choice.text
            kind = "radio" if question.kind == "single" else "checkbox"
            assert page.get_by_role(kind, name=shown, exact=True).count() == 1, shown
    # The stored label is worded otherwise; the name follows the screen (WCAG 2.5.3).
    assert page.get_by_role("radio", name="生活保護受給者など", exact=True).count() == 1
    assert page.get_by_role("radio", name="生活保護受給者等").count() == 0
    assert page.get_by_role("group", name="1 この施設の利用に満足していますか 必須", exact=True).count() == 1
    # Readings are hidden from the accessibility tree everywhere on the page.
    assert page.locator("rt:not([aria-hidden=true])").count() == 0
    for name in ("標準", "大きく", "最初からやり直す", "送信する"):
        assert page.get_by_role("button", name=name, exact=True).count() >= 1, name


def test_comment_counter_warns_near_the_limit_and_when_a_paste_is_cut(live_server, page):
    server = live_server(CALM_KIOSK)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    enroll_browser(page, server)
    comment = page.locator("#comment")
    limit = page.locator("#comment-limit")
    assert limit.get_attribute("aria-live") == "polite"
    assert "comment-limit" in comment.get_attribute("aria-describedby")

    comment.fill("あ" * 899)
    assert limit.inner_text() == ""
    comment.press("End")
    page.keyboard.type("い")
    assert page.locator("#comment-counter .counter__count").inner_text() == "900"
    assert limit.inner_text() == "もうすぐ1000文字です。1000文字まで書けます。"
    assert "counter--near" in page.locator("#comment-counter").get_attribute("class")
    # Announced once, not at every key: the live text is the same node's same words.
    page.keyboard.type("うえ")
    assert limit.inner_text() == "もうすぐ1000文字です。1000文字まで書けます。"

    comment.fill("")
    assert limit.inner_text() == ""
    comment.focus()
    page.keyboard.insert_text("あ" * 990)
    assert limit.inner_text().startswith("もうすぐ")
    # A paste of more than fits: the browser cuts it at maxlength, and the form says so.
    page.evaluate("text => navigator.clipboard.writeText(text)", "お" * 50)
    page.keyboard.press("Control+V")
    page.wait_for_function("() => document.getElementById('comment').value.length === 1000")
    assert page.locator("#comment-counter .counter__count").inner_text() == "1000"
    assert limit.inner_text() == "1000文字をこえた分は入りませんでした。"

    page.keyboard.press("Backspace")
    assert limit.inner_text().startswith("もうすぐ")
    page.keyboard.type("か")
    assert limit.inner_text() == "1000文字になりました。これ以上は書けません。"


@pytest.mark.parametrize("name, options", [
    ("tablet", TABLET_LANDSCAPE), ("portrait", {}), ("phone", PHONE_390)])
@pytest.mark.parametrize("voices", [[], [JAPANESE_VOICE]], ids=["silent", "voice"])
def test_kiosk_tools_fit_pass_axe_and_are_big_enough(live_server, new_context, artifacts_dir,
                                                     name, options, voices):
    server = live_server()
    page = with_voices(new_context(bypass_csp=True, **options), voices).new_page()
    enroll_browser(page, server)
    width = options.get("viewport", IPAD_PORTRAIT["viewport"])["width"]
    targets = page.locator("#kiosk-tools button, [data-read-aloud]:visible, [data-start-over]")
    assert targets.count() == 3 + (len(QUESTIONS) if voices else 0) + 1
    for size in ("標準", "大きく"):
        page.get_by_role("button", name=size, exact=True).tap()
        assert_no_horizontal_scroll(page)
        # A mobile browser widens its layout viewport to content that overflows (and zooms
        # out), which the check above cannot see: the page must be laid out at device width.
        assert page.evaluate("() => window.innerWidth") == width
        for index in range(targets.count()):
            box = targets.nth(index).bounding_box()
            assert box["height"] >= MIN_TAP_TARGET_PX and box["width"] >= MIN_TAP_TARGET_PX, (index, box)
        if voices:
            page.screenshot(path=str(artifacts_dir / f"survey-kiosk-{name}-{size}.png"), full_page=True)
        violations = run_axe(page)
        assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)
