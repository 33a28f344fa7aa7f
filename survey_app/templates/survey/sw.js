/* Service worker of the survey tablet (rendered by survey.service_worker; scope /f/).
 *
 * It keeps the facility's empty pages (form, thank-you, staff view) and their assets so a
 * tablet opens and submits the form with no network. Pages: network first (a fresh page
 * and questionnaire whenever the server answers), the cached copy when the network fails,
 * hangs or the server answers 5xx. Assets: from this version's cache. POSTs and the API
 * always go to the network; answers are queued by offline-queue.js, never here.
 *
 * The cache name carries FORM_VERSION and a digest of the questionnaire, assets and page
 * templates: a change on the server changes these bytes, the browser installs the new
 * worker, which fetches everything again and drops the old cache. Only empty pages are
 * cached (GET, 200, not redirected): nothing a respondent entered ever lands here.
 */
"use strict";

var VERSION = {{ cache_version|tojson }};
var CACHE = "survey-offline-" + VERSION;
var ASSETS = {{ assets|tojson }};
var PAGE_PATH = /^\/f\/[a-z0-9-]+(\/thanks|\/staff)?$/;
var NETWORK_TIMEOUT_MS = 4000;

function isPage(url) {
  return url.origin === self.location.origin && PAGE_PATH.test(url.pathname);
}

function fetchFresh(url) {
  return fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" });
}

function storable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

// Fill `cache` with the pages listed: those of older caches on install, the page's own on request.
function cachePages(cache, urls, onlyMissing) {
  return Promise.all(urls.map(function (url) {
    return (onlyMissing ? cache.match(url) : Promise.resolve(null)).then(function (cached) {
      if (cached) { return true; }
      return fetchFresh(url).then(function (response) {
        if (!storable(response)) { return false; }
        return cache.put(url, response).then(function () { return true; });
      });
    });
  })).then(function (results) { return results.every(Boolean); });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      var assets = cache.addAll(ASSETS.map(function (url) { return new Request(url, { cache: "reload" }); }));
      // Refresh the pages an older version had, so an updated tablet is ready offline at once.
      var pages = caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("survey-offline-") === 0 && name !== CACHE;
        }).map(function (name) {
          return caches.open(name).then(function (old) { return old.keys(); });
        }));
      }).then(function (lists) {
        var urls = [];
        lists.forEach(function (requests) {
          requests.forEach(function (request) {
            if (isPage(new URL(request.url)) && urls.indexOf(request.url) < 0) { urls.push(request.url); }
          });
        });
        return cachePages(cache, urls, false);
      });
      return Promise.all([assets, pages]);
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("survey-offline-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  var message = event.data || {};
  var port = event.ports && event.ports[0];
  if (message.type !== "cache-pages" || !Array.isArray(message.urls)) { return; }
  var urls = message.urls.filter(function (url) { return isPage(new URL(url, self.location.origin)); });
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cachePages(cache, urls, true); })
      .catch(function () { return false; })
      .then(function (ok) { if (port) { port.postMessage({ ok: ok, version: VERSION }); } })
  );
});

function pageFromNetworkOrCache(request) {
  var url = new URL(request.url);
  var key = url.origin + url.pathname;
  return caches.open(CACHE).then(function (cache) {
    var fromCache = function () {
      return cache.match(key).then(function (cached) { return cached || null; });
    };
    var network = fetch(request).then(function (response) {
      if (storable(response)) { cache.put(key, response.clone()); }
      return response;
    });
    var timeout = new Promise(function (resolve) {
      setTimeout(function () { resolve("timeout"); }, NETWORK_TIMEOUT_MS);
    });
    return Promise.race([network, timeout]).then(function (response) {
      if (response === "timeout" || response.status >= 500) {
        return fromCache().then(function (cached) { return cached || network; });
      }
      return response;
    }, function () {
      return fromCache().then(function (cached) { return cached || Response.error(); });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && isPage(url)) {
    event.respondWith(pageFromNetworkOrCache(request));
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (cached) { return cached || fetch(request); });
    }));
  }
});
