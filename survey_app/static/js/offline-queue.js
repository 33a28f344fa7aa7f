/* Offline queue of the tablet: answers that could not be sent wait in IndexedDB.
 *
 * Every tablet page (form, thank-you, staff view) loads this script. It
 * - registers the service worker that keeps the pages and assets for offline use;
 * - keeps answers not yet confirmed by the server in IndexedDB ("survey-offline"), keyed by
 *   their client UUID, and sends them to POST /api/v1/responses while the page is open:
 *   at once when the network comes back, otherwise with a backoff from seconds to minutes;
 * - removes an answer only after the server confirmed it (200 stored before, 201 stored);
 *   401/403/409/422 (and other refusals) are kept aside as "rejected" for the staff view and
 *   never retried by themselves. The server's idempotency by UUID makes every re-send safe.
 *
 * The API call is authenticated by the HttpOnly device cookie plus a same-origin header;
 * the page never sees the device token (survey_app/survey/sync.py explains why).
 * Privacy: answers waiting here are the only thing of a respondent kept in the browser;
 * the meta record holds times and counts only. Nothing goes to localStorage/sessionStorage.
 */
(function () {
  "use strict";

  var element = document.getElementById("survey-offline");
  if (!element || !window.indexedDB || !window.fetch || !window.Promise) { return; }

  var data = element.dataset;
  var settings = {
    facility: data.facility,
    formVersion: parseInt(data.formVersion, 10),
    cacheVersion: data.cacheVersion,
    swUrl: data.swUrl,
    swScope: data.swScope,
    apiUrl: data.apiUrl,
    heartbeatUrl: data.heartbeatUrl,
    formUrl: data.formUrl,
    thanksUrl: data.thanksUrl,
    staffUrl: data.staffUrl,
    retryMin: (parseFloat(data.retryMinSeconds) || 2) * 1000,
    retryMax: (parseFloat(data.retryMaxSeconds) || 300) * 1000,
    heartbeat: (parseFloat(data.heartbeatSeconds) || 300) * 1000
  };
  var DB_NAME = "survey-offline";
  var QUEUE = "queue";
  var META = "meta";
  var SEND_TIMEOUT_MS = 15000;
  // A refusal that no re-send can fix; everything else (network, 408, 425, 429, 5xx) is retried.
  var RETRYABLE = { 0: true, 408: true, 425: true, 429: true };

  function noop() {}

  // ---- IndexedDB ----
  var dbPromise = null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(QUEUE)) { db.createObjectStore(QUEUE, { keyPath: "id" }); }
        if (!db.objectStoreNames.contains(META)) { db.createObjectStore(META); }
      };
      request.onsuccess = function () {
        var db = request.result;
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      request.onerror = function () { dbPromise = null; reject(request.error); };
    });
    return dbPromise;
  }

  // Run `work(stores, setResult)` in one transaction; resolve once it is committed.
  function transaction(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction([QUEUE, META], mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
        work({ queue: tx.objectStore(QUEUE), meta: tx.objectStore(META) },
             function (value) { result = value; });
      });
    });
  }

  function allRecords() {
    return transaction("readonly", function (stores, done) {
      var request = stores.queue.getAll();
      request.onsuccess = function () { done(request.result); };
    });
  }

  function getMeta() {
    return transaction("readonly", function (stores, done) {
      var request = stores.meta.get("sync");
      request.onsuccess = function () { done(request.result || {}); };
    });
  }

  function updateMeta(changes) {
    return transaction("readwrite", function (stores) {
      var request = stores.meta.get("sync");
      request.onsuccess = function () {
        var meta = request.result || {};
        Object.keys(changes).forEach(function (key) { meta[key] = changes[key]; });
        stores.meta.put(meta, "sync");
      };
    });
  }

  function updateRecord(id, changes) {
    return transaction("readwrite", function (stores) {
      var request = stores.queue.get(id);
      request.onsuccess = function () {
        if (!request.result) { return; }
        var record = request.result;
        Object.keys(changes).forEach(function (key) { record[key] = changes[key]; });
        stores.queue.put(record);
      };
    });
  }

  function removeRecord(id) {
    return transaction("readwrite", function (stores) { stores.queue.delete(id); });
  }

  function counts(records) {
    var result = { pending: 0, rejected: 0 };
    records.forEach(function (record) {
      if (record.state === "rejected") { result.rejected += 1; } else { result.pending += 1; }
    });
    return result;
  }

  function changed() {
    window.dispatchEvent(new CustomEvent("survey-offline-change"));
  }

  // ---- Building a record from the form ----
  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // The tablet's local time with its UTC offset, e.g. 2025-05-01T09:30:00+09:00.
  function localIsoTime(date) {
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + "T" +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
      sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
  }

  // The API's answer object from the form's fields, like survey/forms.py does on the server.
  function answersOf(form) {
    var answers = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      var name = field.name;
      if (!name || name === "csrf_token" || name === "client_uuid") { return; }
      if (field.type === "radio") {
        if (!(name in answers)) { answers[name] = null; }
        if (field.checked) { answers[name] = /^[0-9]+$/.test(field.value) ? parseInt(field.value, 10) : field.value; }
      } else if (field.type === "checkbox") {
        if (!(name in answers)) { answers[name] = []; }
        if (field.checked) { answers[name].push(field.value); }
      } else if (field.tagName === "TEXTAREA") {
        answers[name] = field.value.trim() === "" ? null : field.value.replace(/\r\n?/g, "\n");
      }
    });
    return answers;
  }

  function recordFromForm(form, id) {
    return {
      id: id,
      facility: settings.facility,
      submitted_at: localIsoTime(new Date()),
      answers: answersOf(form),
      form_version: settings.formVersion
    };
  }

  // Keep an answer before trying to send it; `hold` keeps the sync loop off it while the
  // form itself is sending it.
  function enqueue(body, hold) {
    var record = {
      id: body.id, body: body, state: "pending", queuedAt: Date.now(), attempts: 0,
      holdUntil: hold ? Date.now() + SEND_TIMEOUT_MS : 0
    };
    return transaction("readwrite", function (stores) { stores.queue.put(record); }).then(changed);
  }

  // ---- Sending ----
  var running = null;
  var again = false;
  var timer = null;

  function retryDelay(failures, retryAfterSeconds) {
    var delay = Math.min(settings.retryMax, settings.retryMin * Math.pow(2, Math.max(0, failures - 1)));
    delay = delay * (0.8 + 0.4 * Math.random());
    if (retryAfterSeconds > 0) { delay = Math.max(delay, retryAfterSeconds * 1000); }
    return Math.min(delay, Math.max(settings.retryMax, (retryAfterSeconds || 0) * 1000));
  }

  function post(url, body, headers) {
    var controller = window.AbortController ? new AbortController() : null;
    var timeout = window.setTimeout(function () { if (controller) { controller.abort(); } }, SEND_TIMEOUT_MS);
    headers["Content-Type"] = "application/json";
    headers["X-Survey-Client"] = "tablet";
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store", headers: headers,
      body: JSON.stringify(body), signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        return { status: response.status, body: json,
                 retryAfter: parseInt(response.headers.get("Retry-After"), 10) || 0 };
      });
    }, function () {
      return { status: 0, body: null, retryAfter: 0 };
    }).then(function (result) {
      window.clearTimeout(timeout);
      return result;
    });
  }

  function reasonOf(result) {
    var body = result.body || {};
    var messages = (body.errors || []).map(function (error) { return error.message; });
    return { status: result.status, error: body.error || "", messages: messages };
  }

  // Send due answers oldest first; stop at the first failure that a retry may fix.
  function runSync(force) {
    var now = Date.now();
    return Promise.all([allRecords(), getMeta()]).then(function (loaded) {
      var records = loaded[0];
      var meta = loaded[1];
      if (!force && meta.pausedUntil && meta.pausedUntil > now) { return; }
      var left = counts(records);
      var due = records.filter(function (record) {
        return record.state !== "rejected" && (force || !record.holdUntil || record.holdUntil <= now);
      }).sort(function (a, b) { return a.queuedAt - b.queuedAt; });
      if (due.length === 0) { return; }

      function next(index) {
        if (index >= due.length) { return Promise.resolve(); }
        var record = due[index];
        // The server keeps these figures only when it stores the answer: so, what is left then.
        var after = { pending: left.pending - 1, rejected: left.rejected };
        return post(settings.apiUrl, record.body, {
          "X-Survey-Pending": String(after.pending), "X-Survey-Rejected": String(after.rejected)
        }).then(function (result) {
          var at = Date.now();
          if (result.status === 200 || result.status === 201) {
            left.pending -= 1;
            return removeRecord(record.id).then(function () {
              return updateMeta({ lastAttemptAt: at, lastSuccessAt: at, failures: 0, pausedUntil: 0,
                                  lastFailure: null, reported: after });
            }).then(function () { changed(); return next(index + 1); });
          }
          if (RETRYABLE[result.status] || result.status >= 500) {
            var failures = (meta.failures || 0) + 1;
            return Promise.all([
              updateRecord(record.id, { attempts: (record.attempts || 0) + 1, lastStatus: result.status }),
              updateMeta({ lastAttemptAt: at, failures: failures,
                           pausedUntil: at + retryDelay(failures, result.retryAfter),
                           lastFailure: { at: at, status: result.status } })
            ]).then(changed);
          }
          // Refused for good: keep it aside for the staff, never retry it by itself.
          left.pending -= 1;
          left.rejected += 1;
          return Promise.all([
            updateRecord(record.id, { state: "rejected", rejectedAt: at, attempts: (record.attempts || 0) + 1,
                                      lastStatus: result.status, reason: reasonOf(result) }),
            updateMeta({ lastAttemptAt: at })
          ]).then(function () { changed(); return next(index + 1); });
        });
      }
      return next(0);
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = null;
    Promise.all([allRecords(), getMeta()]).then(function (loaded) {
      var records = loaded[0];
      var meta = loaded[1];
      var now = Date.now();
      var wake = null;
      records.forEach(function (record) {
        if (record.state === "rejected") { return; }
        var at = Math.max(record.holdUntil || 0, meta.pausedUntil || 0, now);
        wake = wake === null ? at : Math.min(wake, at);
      });
      if (wake !== null) { timer = window.setTimeout(function () { sync(false); }, Math.max(250, wake - now)); }
    }).catch(noop);
  }

  // One run at a time; a request during a run makes one more run afterwards.
  function sync(force) {
    if (running) {
      again = again || force;
      return running;
    }
    running = runSync(force).catch(noop).then(function () {
      running = null;
      if (again) { again = false; return sync(true); }
      schedule();
      return heartbeat(false);
    });
    return running;
  }

  // Tell the server this tablet is alive and how full its queue is (for the managers' reports).
  function heartbeat(always) {
    return Promise.all([allRecords(), getMeta()]).then(function (loaded) {
      var queueCounts = counts(loaded[0]);
      var meta = loaded[1];
      var now = Date.now();
      var same = meta.reported && meta.reported.pending === queueCounts.pending &&
        meta.reported.rejected === queueCounts.rejected;
      if (!always && same && meta.lastHeartbeatAt && now - meta.lastHeartbeatAt < settings.heartbeat) { return; }
      return post(settings.heartbeatUrl, queueCounts, {}).then(function (result) {
        if (result.status === 200) {
          return updateMeta({ lastHeartbeatAt: now, reported: queueCounts });
        }
      });
    }).catch(noop);
  }

  // ---- Service worker: the pages and assets for offline use ----
  function markReady(ok, version) {
    if (ok) { document.documentElement.setAttribute("data-offline-ready", version); }
    changed();
  }

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(settings.swUrl, { scope: settings.swScope, updateViaCache: "none" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        var worker = registration.active;
        if (!worker) { return; }
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) {
          var reply = event.data || {};
          markReady(reply.ok, reply.version);
          // This page comes from a newer server than the worker: fetch the new worker now.
          if (reply.version && reply.version !== settings.cacheVersion) { registration.update().catch(noop); }
        };
        worker.postMessage({ type: "cache-pages", urls: [settings.formUrl, settings.thanksUrl, settings.staffUrl] },
                           [channel.port2]);
      }).catch(noop);
  }

  // ---- Staff gesture: five taps on the page header within three seconds ----
  function watchStaffGesture() {
    var header = document.querySelector(".site-header");
    if (!header || !settings.staffUrl || window.location.pathname === settings.staffUrl) { return; }
    var taps = [];
    header.addEventListener("click", function () {
      var now = Date.now();
      taps = taps.filter(function (at) { return now - at < 3000; });
      taps.push(now);
      if (taps.length >= 5) { window.location.assign(settings.staffUrl); }
    });
  }

  // ---- Public interface for survey-form.js and staff.js ----
  window.SurveyOffline = {
    settings: settings,
    newId: newId,
    recordFromForm: recordFromForm,
    enqueue: enqueue,
    // The form sent it itself and the server confirmed it.
    confirm: function (id) {
      return removeRecord(id).then(function () { return updateMeta({ lastSuccessAt: Date.now() }); }).then(changed);
    },
    // The server showed the respondent a correction page instead; nothing was stored.
    discard: function (id) { return removeRecord(id).then(changed); },
    // The form could not send it: the sync loop takes over.
    release: function (id) { return updateRecord(id, { holdUntil: 0 }).then(changed); },
    reject: function (id, status) {
      return updateRecord(id, { state: "rejected", rejectedAt: Date.now(), lastStatus: status,
                                reason: { status: status, error: "", messages: [] } }).then(changed);
    },
    retryRejected: function (id) {
      return updateRecord(id, { state: "pending", holdUntil: 0, reason: null }).then(function () {
        changed();
        return sync(true);
      });
    },
    deleteRejected: function (id) { return removeRecord(id).then(changed).then(function () { return heartbeat(true); }); },
    sync: sync,
    status: function () {
      return Promise.all([allRecords(), getMeta()]).then(function (loaded) {
        var records = loaded[0];
        var meta = loaded[1];
        return {
          pending: counts(records).pending,
          rejected: records.filter(function (r) { return r.state === "rejected"; })
            .sort(function (a, b) { return a.queuedAt - b.queuedAt; })
            .map(function (r) {
              return { id: r.id, submittedAt: r.body.submitted_at, rejectedAt: r.rejectedAt, reason: r.reason || {} };
            }),
          lastSuccessAt: meta.lastSuccessAt || null,
          lastAttemptAt: meta.lastAttemptAt || null,
          lastFailure: meta.lastFailure || null,
          pausedUntil: meta.pausedUntil || null,
          offlineReady: document.documentElement.getAttribute("data-offline-ready")
        };
      });
    }
  };

  // Ask the browser not to evict the queue under storage pressure (a known way to lose answers).
  if (navigator.storage && navigator.storage.persist) { navigator.storage.persist().catch(noop); }
  window.addEventListener("online", function () { sync(true); });
  registerServiceWorker();
  watchStaffGesture();
  sync(false);
})();
