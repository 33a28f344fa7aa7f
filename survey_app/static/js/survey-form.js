/* Tablet survey form: comment counter, one submission per tap, and kiosk resets.
 *
 * No answer of a previous respondent may stay on screen, in history or in storage:
 * the form goes back to an empty page (location.replace, so history gains nothing)
 * when it is restored from history or after a period of inactivity. Nothing is ever
 * written to localStorage or sessionStorage.
 */
(function () {
  "use strict";

  var form = document.getElementById("survey-form");
  if (!form) { return; }

  var resetUrl = form.getAttribute("data-reset-url");
  var idleSeconds = parseFloat(form.getAttribute("data-idle-seconds")) || 90;
  var countdownSeconds = parseFloat(form.getAttribute("data-countdown-seconds")) || 15;
  var submitting = false;

  function resetToEmptyForm() {
    submitting = true;  // stop every timer and handler from doing more
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

  // ---- Live character counter. ----
  var counters = document.querySelectorAll("[data-counter-for]");
  Array.prototype.forEach.call(counters, function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    var count = counter.querySelector(".counter__count");
    var max = parseInt(counter.getAttribute("data-max"), 10);
    if (!field || !count) { return; }
    function update() {
      // Count code points like the server does, not UTF-16 units.
      var length = Array.from(field.value.replace(/\r\n/g, "\n")).length;
      count.textContent = String(length);
      counter.classList.toggle("counter--over", length > max);
    }
    field.addEventListener("input", update);
    update();
  });

  // ---- One submission per tap: disable the button once the form is sent. ----
  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }
    submitting = true;
    stopIdleTimers();
    var buttons = form.querySelectorAll("button[type=submit]");
    Array.prototype.forEach.call(buttons, function (button) {
      var sending = button.getAttribute("data-sending-text");
      if (sending) { button.textContent = sending; }
      // Disable after this event so the browser still submits the form normally.
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });

  // ---- Error state: bring the summary to the respondent's attention. ----
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // ---- Inactivity: ask, count down, then return to an empty form. ----
  var overlay = document.getElementById("idle-overlay");
  var secondsLabel = document.getElementById("idle-seconds");
  var continueButton = document.getElementById("idle-continue");
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
  }

  function showOverlay() {
    if (submitting) { return; }
    remaining = Math.max(1, Math.round(countdownSeconds));
    secondsLabel.textContent = String(remaining);
    overlay.hidden = false;
    form.setAttribute("inert", "");
    continueButton.focus();
    countdownTimer = window.setInterval(function () {
      remaining -= 1;
      if (remaining <= 0) {
        stopIdleTimers();
        resetToEmptyForm();
        return;
      }
      secondsLabel.textContent = String(remaining);
    }, 1000);
  }

  function restartIdleTimer() {
    if (submitting) { return; }
    stopIdleTimers();
    hideOverlay();
    if (somethingEntered()) {
      idleTimer = window.setTimeout(showOverlay, idleSeconds * 1000);
    }
  }

  ["pointerdown", "touchstart", "keydown", "input", "change"].forEach(function (type) {
    document.addEventListener(type, restartIdleTimer, { passive: true, capture: true });
  });
  continueButton.addEventListener("click", restartIdleTimer);
  restartIdleTimer();
})();
