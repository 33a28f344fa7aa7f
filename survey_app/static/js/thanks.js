/* Thank-you page: count down, then replace itself with an empty form (no history entry). */
(function () {
  "use strict";

  var panel = document.getElementById("thanks");
  if (!panel) { return; }
  var formUrl = panel.getAttribute("data-form-url");
  var remaining = Math.max(1, parseInt(panel.getAttribute("data-thanks-seconds"), 10) || 8);
  var secondsLabel = document.getElementById("thanks-seconds");
  var back = document.getElementById("thanks-back");

  function goToForm() { window.location.replace(formUrl); }

  // Restored from history: never show an old thank-you screen, go straight to the form.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { goToForm(); }
  });

  back.addEventListener("click", function (event) {
    event.preventDefault();
    goToForm();
  });

  var timer = window.setInterval(function () {
    remaining -= 1;
    if (remaining <= 0) {
      window.clearInterval(timer);
      goToForm();
      return;
    }
    secondsLabel.textContent = String(remaining);
  }, 1000);
})();
