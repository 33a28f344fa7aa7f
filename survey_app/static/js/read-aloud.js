/* Read-aloud of a question and its choices with the device's own voices (speechSynthesis).
 *
 * Only a voice installed on the device for the page's language is used (localService):
 * a network voice would send the questions elsewhere and fail offline. Without such a
 * voice, or without JavaScript, the buttons stay hidden. survey-form.js calls
 * SurveyReadAloud.stop() whenever the form is cleared, so nobody hears a previous page.
 */
(function () {
  "use strict";

  var api = { stop: function () {} };
  window.SurveyReadAloud = api;

  var synth = window.speechSynthesis;
  var buttons = document.querySelectorAll("[data-read-aloud]");
  if (!synth || !window.SpeechSynthesisUtterance || !buttons.length) { return; }

  var pageLang = (document.documentElement.lang || "ja").toLowerCase();
  var voice = null;
  var speaking = null;  // the button whose question is being read

  function deviceVoice() {
    var voices = synth.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      var lang = String(voices[i].lang || "").toLowerCase().replace("_", "-");
      if (voices[i].localService && (lang === pageLang || lang.indexOf(pageLang + "-") === 0)) {
        return voices[i];
      }
    }
    return null;
  }

  function label(button) { return button.querySelector(".read-aloud__text"); }

  function showSpeaking(button, on) {
    var text = label(button);
    if (!button.hasAttribute("data-speak-text")) { button.setAttribute("data-speak-text", text.textContent); }
    text.textContent = button.getAttribute(on ? "data-stop-text" : "data-speak-text");
  }

  function stop() {
    synth.cancel();
    if (speaking) { showSpeaking(speaking, false); }
    speaking = null;
  }

  // The readings rather than the characters: a voice may misread 方 or 中, the furigana not.
  function spokenText(element) {
    var copy = element.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll("ruby"), function (ruby) {
      var readings = Array.prototype.map.call(ruby.querySelectorAll("rt"), function (rt) { return rt.textContent; });
      ruby.parentNode.replaceChild(document.createTextNode(readings.join("") || ruby.textContent), ruby);
    });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function partsOf(question) {
    var parts = [question.querySelector(".question__text")];
    var badge = question.querySelector(".badge");
    if (badge) { parts.push(badge); }
    Array.prototype.push.apply(parts, question.querySelectorAll(".choice__text"));
    return parts.map(spokenText);
  }

  function read(button) {
    var again = speaking === button;
    stop();
    if (again) { return; }  // a second tap stops it
    var parts = partsOf(button.closest("[data-question]"));
    speaking = button;
    showSpeaking(button, true);
    // One utterance per part: the voice pauses between the question and each choice.
    parts.forEach(function (text, index) {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = voice.lang;
      utterance.voice = voice;
      utterance.rate = 0.9;
      if (index === parts.length - 1) {
        utterance.onend = utterance.onerror = function () {
          if (speaking === button) { showSpeaking(button, false); speaking = null; }
        };
      }
      synth.speak(utterance);
    });
  }

  function update() {
    voice = deviceVoice();
    if (!voice) { stop(); }
    Array.prototype.forEach.call(buttons, function (button) { button.hidden = !voice; });
  }

  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () { read(button); });
  });
  // Voices are often listed only after the page has loaded.
  if (synth.addEventListener) { synth.addEventListener("voiceschanged", update); }
  window.addEventListener("pagehide", stop);
  api.stop = stop;
  update();
})();
