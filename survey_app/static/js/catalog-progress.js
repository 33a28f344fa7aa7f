// Poll a catalog retrain's progress and show the finished page when it is done.
(function () {
  "use strict";
  var section = document.getElementById("catalog-progress");
  if (!section) { return; }
  var bar = document.getElementById("catalog-progress-bar");
  var stage = document.getElementById("catalog-stage");
  function poll() {
    fetch(section.dataset.progressUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (state) {
        if (state.status !== "training") { window.location.reload(); return; }
        bar.max = state.total || 1;
        bar.value = state.done || 0;
        stage.textContent = state.stage_label;
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
}());
