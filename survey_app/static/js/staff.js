/* Staff view of the tablet's offline queue: counts, times, refused answers, "send now".
 *
 * Opened by five taps on the page header (offline-queue.js). It shows no answer content,
 * only when an answer was given and why the server refused it. It goes back to the form
 * by itself after a while so a respondent never finds it open.
 */
(function () {
  "use strict";

  var panel = document.getElementById("staff");
  var offline = window.SurveyOffline;
  if (!panel) { return; }
  var formUrl = panel.getAttribute("data-form-url");
  var idleMs = Math.max(60, 2 * (parseFloat(panel.getAttribute("data-idle-seconds")) || 90)) * 1000;
  var statusLine = document.getElementById("staff-status");
  var syncButton = document.getElementById("staff-sync");
  var closeLink = document.getElementById("staff-close");

  function goToForm() { window.location.replace(formUrl); }

  closeLink.addEventListener("click", function (event) {
    event.preventDefault();
    goToForm();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { goToForm(); }
  });

  var idleTimer = null;
  function restartIdle() {
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(goToForm, idleMs);
  }
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, restartIdle, { passive: true, capture: true });
  });
  restartIdle();

  if (!offline) {
    statusLine.textContent = "このブラウザーでは、通信がないときの保存が使えません。";
    syncButton.disabled = true;
    return;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function timeText(value) {
    if (!value) { return "まだありません"; }
    var date = new Date(value);
    if (isNaN(date.getTime())) { return "—"; }
    return (date.getMonth() + 1) + "月" + date.getDate() + "日 " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }

  function reasonText(reason) {
    var status = reason.status;
    var messages = (reason.messages || []).join("、");
    if (status === 401) { return "このタブレットの登録が無効になっています。登録し直してから「もう一度送る」を押してください。"; }
    if (status === 403) { return "このタブレットは、この施設の回答を送れません。登録を確かめてください。"; }
    if (status === 409) { return "同じ受付番号で別の内容の回答が、すでに保存されています。"; }
    if (status === 422) { return "回答の内容に誤りがあるため受け付けられませんでした" + (messages ? "（" + messages + "）" : "") + "。"; }
    return "サーバーが受け付けませんでした（コード " + status + "）。";
  }

  function button(text, className, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "button " + className;
    element.textContent = text;
    element.addEventListener("click", onClick);
    return element;
  }

  function renderRejected(records) {
    var list = document.getElementById("staff-rejected");
    document.getElementById("staff-rejected-empty").hidden = records.length > 0;
    while (list.firstChild) { list.removeChild(list.firstChild); }
    records.forEach(function (record) {
      var item = document.createElement("li");
      item.className = "rejected-item";
      item.setAttribute("data-id", record.id);
      item.setAttribute("data-status", String(record.reason.status || ""));
      var heading = document.createElement("p");
      heading.className = "rejected-item__title";
      heading.textContent = "回答した時刻：" + timeText(record.submittedAt) + "（受付番号 " + record.id.slice(0, 8) + "）";
      var reason = document.createElement("p");
      reason.className = "rejected-item__reason";
      reason.textContent = reasonText(record.reason);
      var actions = document.createElement("div");
      actions.className = "rejected-item__actions";
      actions.appendChild(button("もう一度送る", "button--secondary", function () {
        statusLine.textContent = "送信しています…";
        offline.retryRejected(record.id).then(render);
      }));
      var remove = button("削除する", "button--danger", function () {
        // Two taps: the first asks, the second deletes (no browser dialog on a kiosk).
        if (remove.getAttribute("data-confirm") !== "true") {
          remove.setAttribute("data-confirm", "true");
          remove.textContent = "もう一度押すと削除します";
          return;
        }
        offline.deleteRejected(record.id).then(function () {
          statusLine.textContent = "回答を1件削除しました。";
          render();
        });
      });
      actions.appendChild(remove);
      item.appendChild(heading);
      item.appendChild(reason);
      item.appendChild(actions);
      list.appendChild(item);
    });
  }

  function render() {
    return offline.status().then(function (status) {
      document.getElementById("staff-pending").textContent = String(status.pending);
      document.getElementById("staff-rejected-count").textContent = String(status.rejected.length);
      document.getElementById("staff-last-success").textContent = timeText(status.lastSuccessAt);
      document.getElementById("staff-last-attempt").textContent = timeText(status.lastAttemptAt);
      document.getElementById("staff-next").textContent =
        status.pending === 0 ? "送信を待っている回答はありません"
          : (status.pausedUntil && status.pausedUntil > Date.now() ? timeText(status.pausedUntil) : "すぐに送信します");
      document.getElementById("staff-network").textContent =
        navigator.onLine ? "つながっています" : "つながっていません";
      document.getElementById("staff-offline-ready").textContent =
        status.offlineReady ? "準備ができています" : "準備中です（ネットワークにつないだまま、しばらくお待ちください）";
      renderRejected(status.rejected);
      panel.setAttribute("data-pending", String(status.pending));
      panel.setAttribute("data-rejected", String(status.rejected.length));
    });
  }

  syncButton.addEventListener("click", function () {
    syncButton.disabled = true;
    statusLine.textContent = "送信しています…";
    offline.sync(true).then(render).then(function () {
      return offline.status();
    }).then(function (status) {
      statusLine.textContent = status.pending === 0
        ? "送信を待っている回答はありません。"
        : "まだ送信できていない回答が" + status.pending + "件あります。ネットワークを確かめてください。";
      syncButton.disabled = false;
    });
  });

  window.addEventListener("survey-offline-change", render);
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  render();
})();
