/* Tablet survey form: comment counter, one submission per tap, kiosk resets, offline queue,
 * text size and 最初からやり直す.
 *
 * No answer of a previous respondent may stay on screen, in history or in storage:
 * the form goes back to an empty page (location.replace, so history gains nothing)
 * when it is restored from history or after a period of inactivity. Nothing is ever
 * written to localStorage or sessionStorage; the only trace is an answer waiting in the
 * offline queue (offline-queue.js), removed once the server confirms it.
 *
 * With the offline queue available, a tap on 送信する keeps the answer in the queue first,
 * then posts the form itself in the background (the server stores it as a form answer).
 * Stored: the thank-you page. Refused with a correction (422, 409): the answer leaves the
 * queue and the form is posted normally so the server shows its page. No network, a 5xx,
 * a rate limit or a stale page: the thank-you page all the same, and the queue sends the
 * answer through the API later. Without JavaScript the plain form POST does it all.
 *
 * The text size (標準 / 大きく) is the current visitor's: it lives in this page only (and in
 * a hidden field, so a page the server shows again with a message keeps it), and every
 * fresh form starts at 標準.
 */
(function () {
  "use strict";

  var form = document.getElementById("survey-form");
  if (!form) { return; }

  var resetUrl = form.getAttribute("data-reset-url");
  var idleSeconds = parseFloat(form.getAttribute("data-idle-seconds")) || 90;
  var countdownSeconds = parseFloat(form.getAttribute("data-countdown-seconds")) || 15;
  var submitting = false;

  var readAloud = window.SurveyReadAloud || { stop: function () {} };

  function resetToEmptyForm() {
    submitting = true;  // stop every timer and handler from doing more
    readAloud.stop();
    form.reset();
    window.location.replace(resetUrl);
  }

  // ---- A page shown again from history (back button, bfcache) starts empty. ----
  function cameFromHistory() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    return entries.length > 0 && entries[0].type === "back_forward";
  }

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { resetToEmptyForm(); }
  });
  if (cameFromHistory()) { resetToEmptyForm(); return; }

  // ---- Live character counter; it warns near the limit and when a paste was cut. ----
  var counters = document.querySelectorAll("[data-counter-for]");
  Array.prototype.forEach.call(counters, function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    var count = counter.querySelector(".counter__count");
    var limit = document.getElementById(counter.getAttribute("data-limit"));
    var max = parseInt(counter.getAttribute("data-max"), 10);
    var warnFrom = parseInt(counter.getAttribute("data-warn-from"), 10) || max;
    if (!field || !count || !limit) { return; }
    var said = "";
    var wanted = null;  // the length (UTF-16, as maxlength counts) the edit asked for
    var pasted = null;

    function update(cut) {
      // Count code points like the server does, not UTF-16 units.
      var length = Array.from(field.value.replace(/\r\n/g, "\n")).length;
      count.textContent = String(length);
      counter.classList.toggle("counter--over", length > max);
      counter.classList.toggle("counter--near", length >= warnFrom);
      // The live region changes only when the state does, so it is announced once.
      var state = cut ? "cut" : length >= max ? "full" : length >= warnFrom ? "near" : "";
      if (state !== said) {
        said = state;
        limit.textContent = state ? counter.getAttribute("data-" + state + "-text") : "";
      }
    }
    field.addEventListener("paste", function (event) {
      pasted = event.clipboardData ? event.clipboardData.getData("text/plain") : null;
    });
    field.addEventListener("beforeinput", function (event) {
      var text = event.data;
      if (text == null && event.dataTransfer) { text = event.dataTransfer.getData("text/plain"); }
      if (text == null && event.inputType === "insertFromPaste") { text = pasted; }
      pasted = null;
      wanted = text == null ? null
        : field.value.length - (field.selectionEnd - field.selectionStart) + text.length;
    });
    field.addEventListener("input", function () {
      var cut = wanted !== null && field.maxLength > 0 && wanted > field.maxLength;
      wanted = null;
      update(cut);
    });
    counter.update = update;
    update(false);
  });

  // ---- One submission per tap: disable the button once the form is sent. ----
  var offline = window.SurveyOffline;
  var uuidField = form.querySelector("input[name=client_uuid]");
  var buttons = form.querySelectorAll("button[type=submit]");
  var buttonTexts = Array.prototype.map.call(buttons, function (button) { return button.textContent; });
  // A page from the offline cache carries an old id: every shown form gets a fresh one.
  if (offline && uuidField) { uuidField.value = offline.newId(); }

  function showSending() {
    Array.prototype.forEach.call(buttons, function (button) {
      var sending = button.getAttribute("data-sending-text");
      if (sending) { button.textContent = sending; }
      // Disable after this event so the browser still submits the form normally.
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  function unlock() {
    Array.prototype.forEach.call(buttons, function (button, index) {
      button.disabled = false;
      button.textContent = buttonTexts[index];
    });
    submitting = false;
    restartIdleTimer();
  }

  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }
    submitting = true;
    readAloud.stop();
    stopIdleTimers();
    showSending();
    if (offline && uuidField) {
      event.preventDefault();
      sendThroughQueue();
    }
  });

  // The server's own page (its error messages): a plain POST, which skips this handler.
  function submitNormally() {
    HTMLFormElement.prototype.submit.call(form);
  }

  function goToThanks() {
    form.reset();
    // assign, like the plain POST's redirect: the thank-you page replaces itself with a form.
    window.location.assign(offline.settings.thanksUrl);
  }

  // Post the form in the background: "stored", "correction" (the server shows a page),
  // "gone" (the tablet is no longer enrolled) or "later" (network, 5xx, 429, stale page).
  function postForm() {
    var controller = window.AbortController ? new AbortController() : null;
    var timeout = window.setTimeout(function () { if (controller) { controller.abort(); } }, 6000);
    return fetch(form.action, {
      method: "POST", credentials: "same-origin", cache: "no-store", redirect: "manual",
      body: new URLSearchParams(new FormData(form)), signal: controller ? controller.signal : undefined
    }).then(function (response) {
      window.clearTimeout(timeout);
      // Only a stored answer is answered with the redirect to the thank-you page.
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) { return "stored"; }
      if (response.status === 422 || response.status === 409) { return "correction"; }
      if (response.status === 401 || response.status === 403 || response.status === 404) { return "gone"; }
      return "later";
    }, function () {
      window.clearTimeout(timeout);
      return "later";
    });
  }

  function missingAnswers() {
    var problems = [];
    Array.prototype.forEach.call(form.querySelectorAll("[data-question]"), function (question) {
      var key = question.getAttribute("data-question");
      if (question.getAttribute("data-required") === "true" &&
          !question.querySelector("input:checked")) {
        problems.push({ key: key, message: "この質問は必ず選んでください。" });
      }
      var text = question.querySelector("textarea");
      if (text) {
        var max = parseInt(text.getAttribute("maxlength"), 10);
        var length = Array.from(text.value.replace(/\r\n/g, "\n")).length;
        if (max && length > max) {
          problems.push({ key: key, message: max + "文字以内で入力してください（いま" + length + "文字です）。" });
        }
      }
    });
    return problems;
  }

  // Remove every error message, the server's or ours, and what points to them.
  function clearProblems() {
    var old = document.getElementById("error-summary");
    if (old) { old.parentNode.removeChild(old); }
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (p) { p.parentNode.removeChild(p); });
    Array.prototype.forEach.call(form.querySelectorAll(".question--error"), function (q) { q.classList.remove("question--error"); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (f) { f.removeAttribute("aria-invalid"); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-describedby]"), function (element) {
      var ids = element.getAttribute("aria-describedby").split(/\s+/).filter(function (id) {
        return id && document.getElementById(id);
      });
      if (ids.length) { element.setAttribute("aria-describedby", ids.join(" ")); }
      else { element.removeAttribute("aria-describedby"); }
    });
    document.title = form.getAttribute("data-title");
  }

  // The server's error summary, drawn here when the server cannot be reached.
  function showProblems(problems) {
    clearProblems();
    var summary = document.createElement("div");
    summary.className = "error-summary";
    summary.id = "error-summary";
    summary.setAttribute("role", "alert");
    summary.setAttribute("tabindex", "-1");
    summary.setAttribute("aria-labelledby", "error-summary-title");
    var title = document.createElement("h2");
    title.className = "error-summary__title";
    title.id = "error-summary-title";
    title.textContent = "まだ答えていない質問などがあります";
    var list = document.createElement("ul");
    list.className = "error-summary__list";
    problems.forEach(function (problem) {
      var question = document.getElementById("q-" + problem.key);
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + problem.key + (question.tagName === "FIELDSET" ? "-0" : "");
      link.textContent = question.getAttribute("data-label") + "：" + problem.message;
      item.appendChild(link);
      list.appendChild(item);
      question.classList.add("question--error");
      var message = document.createElement("p");
      message.className = "field-error";
      message.id = problem.key + "-error";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = "エラー：";
      message.appendChild(hidden);
      message.appendChild(document.createTextNode(problem.message));
      var label = question.querySelector(".question__label");
      label.parentNode.insertBefore(message, label.nextSibling);
    });
    summary.appendChild(title);
    summary.appendChild(list);
    form.parentNode.insertBefore(summary, form);
    summary.focus();
  }

  function sendThroughQueue() {
    var problems = missingAnswers();
    var record = offline.recordFromForm(form, uuidField.value);
    var queued = problems.length ? Promise.resolve(false)
      : offline.enqueue(record, true).then(function () { return true; }, function () { return false; });
    queued.then(function (isQueued) {
      return postForm().then(function (outcome) {
        if (outcome === "stored") {
          return (isQueued ? offline.confirm(record.id) : Promise.resolve()).then(goToThanks, goToThanks);
        }
        if (outcome === "correction") {
          return (isQueued ? offline.discard(record.id) : Promise.resolve()).then(submitNormally, submitNormally);
        }
        if (outcome === "gone") {
          // Kept for the staff view (it can be sent again after enrolling the tablet again).
          return (isQueued ? offline.reject(record.id, 403) : Promise.resolve()).then(submitNormally, submitNormally);
        }
        if (isQueued) {
          return offline.release(record.id).then(function () { offline.sync(false); goToThanks(); }, goToThanks);
        }
        if (problems.length) { showProblems(problems); unlock(); return; }
        submitNormally();  // the queue is unavailable (storage refused): the plain POST is all we have
      });
    });
  }

  // ---- Error state: bring the summary to the respondent's attention. ----
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // ---- Text size of the current visitor: 標準 or 大きく (the whole page scales). ----
  var tools = document.getElementById("kiosk-tools");
  var sizeField = form.querySelector("input[name=text_size]");
  var sizeButtons = form.querySelectorAll("[data-text-size]");

  function setTextSize(size) {
    document.documentElement.classList.toggle("text-large", size === "large");
    sizeField.value = size;
    Array.prototype.forEach.call(sizeButtons, function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-text-size") === size));
    });
  }

  Array.prototype.forEach.call(sizeButtons, function (button) {
    button.addEventListener("click", function () { setTextSize(button.getAttribute("data-text-size")); });
  });
  setTextSize(sizeField.value === "large" ? "large" : "standard");

  // ---- 最初からやり直す: an empty form at once, for this visitor or the next. No question
  // asked: a confirmation would only keep a half-filled form up for the next person. ----
  function startOver() {
    readAloud.stop();
    Array.prototype.forEach.call(form.elements, function (field) {
      // defaults too: the server's page keeps the answers as defaults, form.reset() restores them
      if (field.type === "radio" || field.type === "checkbox") { field.checked = field.defaultChecked = false; }
      if (field.tagName === "TEXTAREA") { field.value = field.defaultValue = ""; }
    });
    Array.prototype.forEach.call(counters, function (counter) { if (counter.update) { counter.update(false); } });
    clearProblems();
    if (offline && uuidField) { uuidField.value = offline.newId(); }
    setTextSize("standard");
    window.scrollTo(0, 0);
    var first = form.querySelector("[data-question] input, [data-question] textarea");
    if (first) { first.focus({ preventScroll: true }); }
    restartIdleTimer();
  }

  Array.prototype.forEach.call(form.querySelectorAll("[data-start-over]"), function (button) {
    button.addEventListener("click", startOver);
    button.hidden = false;
  });
  tools.hidden = false;

  // ---- Inactivity: ask, count down, then return to an empty form. ----
  var overlay = document.getElementById("idle-overlay");
  var secondsLabel = document.getElementById("idle-seconds");
  var continueButton = document.getElementById("idle-continue");
  var dialog = overlay.querySelector("[role=alertdialog]");
  var focusBeforeOverlay = null;
  var idleTimer = null;
  var countdownTimer = null;
  var remaining = 0;

  function somethingEntered() {
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if ((field.type === "radio" || field.type === "checkbox") && field.checked) { return true; }
      if (field.tagName === "TEXTAREA" && field.value.trim() !== "") { return true; }
    }
    return false;
  }

  function stopIdleTimers() {
    window.clearTimeout(idleTimer);
    window.clearInterval(countdownTimer);
    idleTimer = countdownTimer = null;
  }

  function hideOverlay() {
    if (overlay.hidden) { return; }
    overlay.hidden = true;
    form.removeAttribute("inert");
    // Back where the respondent was: a half-typed comment goes on where it stopped.
    if (focusBeforeOverlay && document.contains(focusBeforeOverlay)) { focusBeforeOverlay.focus(); }
    focusBeforeOverlay = null;
  }

  function showOverlay() {
    if (submitting) { return; }
    remaining = Math.max(1, Math.round(countdownSeconds));
    secondsLabel.textContent = String(remaining);
    focusBeforeOverlay = form.contains(document.activeElement) ? document.activeElement : null;
    overlay.hidden = false;
    form.setAttribute("inert", "");
    countdownTimer = window.setInterval(function () {
      remaining -= 1;
      if (remaining <= 0) {
        stopIdleTimers();
        resetToEmptyForm();
        return;
      }
      secondsLabel.textContent = String(remaining);
    }, 1000);
    // The alertdialog is announced as the focus enters it (its title and countdown text).
    continueButton.focus();
  }

  function restartIdleTimer() {
    if (submitting) { return; }
    stopIdleTimers();
    hideOverlay();
    if (somethingEntered()) {
      idleTimer = window.setTimeout(showOverlay, idleSeconds * 1000);
    }
  }

  // While the dialog is open the form is inert, so only a tap beside the dialog or 続ける
  // answers it. A comment box losing the focus to the dialog fires change (and input when an
  // IME commits), which is no answer: taking it for one hid the dialog while the countdown
  // ran on. A key on 続ける is answered by the click it makes, after the key is done.
  function noteActivity(event) {
    if (!overlay.hidden && (event.type === "input" || event.type === "change" ||
                            dialog.contains(event.target))) { return; }
    restartIdleTimer();
  }

  ["pointerdown", "touchstart", "keydown", "input", "change"].forEach(function (type) {
    document.addEventListener(type, noteActivity, { passive: true, capture: true });
  });
  continueButton.addEventListener("click", restartIdleTimer);
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { restartIdleTimer(); }
  });
  restartIdleTimer();

  // ---- A new service worker (questionnaire or assets changed on the server) took over:
  // show the new form at once unless someone is answering; their answers on the old
  // version are still accepted and stored with its form_version. ----
  if (offline && navigator.serviceWorker) {
    var hadController = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (hadController && !submitting && !somethingEntered()) { resetToEmptyForm(); }
      hadController = true;
    });
  }
})();
