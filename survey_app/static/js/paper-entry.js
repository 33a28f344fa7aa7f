// Keyboard-first entry of paper sheets: the sheet number, then one number key per question,
// Enter to go on. Without this script the page is a plain form and still works.
(function () {
  "use strict";
  const form = document.getElementById("paper-entry");
  if (!form) return;
  const steps = Array.from(form.querySelectorAll("[data-entry-step]"));
  const sheet = document.getElementById("entry-sheet_number");
  const sheetMessage = document.getElementById("sheet-number-message");

  // The Luhn check of the printed number, so a typo is caught before the sheet is typed in;
  // the server checks it again (survey_app/paper/sheets.py).
  function luhnValid(text) {
    const digits = text.normalize("NFKC").replace(/[\s\-‐−ー－]/g, "");
    if (!/^\d{2,8}$/.test(digits)) return false;
    let total = 0;
    for (let i = 0; i < digits.length; i += 1) {
      let value = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        value *= 2;
        if (value > 9) value -= 9;
      }
      total += value;
    }
    return total % 10 === 0;
  }

  function focusStep(index) {
    const step = steps[index];
    if (!step) return;
    const target = step.querySelector("input:checked") || step.querySelector("input, textarea");
    target.focus();
  }

  form.addEventListener("keydown", function (event) {
    // Enter also confirms a kana-kanji conversion: never treat that one as "next".
    if (event.isComposing || event.keyCode === 229) return;
    const step = event.target.closest("[data-entry-step]");
    if (!step) return;
    const index = steps.indexOf(step);
    const kind = step.dataset.kind;
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey) {
      event.preventDefault();
      if (step.dataset.entryStep === "sheet") {
        if (!luhnValid(sheet.value)) {
          sheetMessage.textContent = sheet.dataset.checkMessage;
          sheet.setAttribute("aria-invalid", "true");
          sheet.select();
          return;
        }
        sheetMessage.textContent = "";
        sheet.removeAttribute("aria-invalid");
      }
      if (index === steps.length - 1) form.requestSubmit();
      else focusStep(index + 1);
      return;
    }
    if ((kind === "single" || kind === "multi") && /^[0-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      const inputs = Array.from(step.querySelectorAll("input"));
      const number = Number(event.key);
      if (number === 0) {
        inputs.forEach(function (input) { input.checked = false; });
        inputs[0].focus();
        return;
      }
      const input = inputs[number - 1];
      if (!input) return;
      input.checked = kind === "single" ? true : !input.checked;
      input.focus();
    }
  });

  // A fresh page, a page with a conflict or with errors: the focus goes where the work is.
  const summary = document.getElementById("conflict") || document.getElementById("error-summary");
  if (summary) summary.focus();
  else sheet.focus();
})();
