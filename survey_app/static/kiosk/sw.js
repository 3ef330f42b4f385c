/*
 * Kiosk service worker (served as /kiosk/sw.js, scope /kiosk/).
 *
 * Kiosk pages: network first, falling back to the cached copy, so a reload without a
 * connection still shows the form (the kiosk script stores the page and its assets in
 * the cache once the worker is ready). Static assets: cached copy first, refreshed in
 * the background. Read-aloud files (/kiosk/audio/, named by their checksum, so never
 * changed): cached copy first. Everything else (the token check, the submission API) goes to the
 * network untouched.
 */
"use strict";

var CACHE = "kiosk-v1";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function pageKey(url) {
  return url.origin + url.pathname; // the language and test arguments share one copy
}

function networkFirst(request) {
  var key = pageKey(new URL(request.url));
  return caches.open(CACHE).then(function (cache) {
    return fetch(request)
      .then(function (response) {
        if (response.ok) cache.put(key, response.clone());
        return response;
      })
      .catch(function () {
        return cache.match(key).then(function (cached) {
          return cached || Response.error();
        });
      });
  });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (cached) {
      var refresh = fetch(request)
        .then(function (response) {
          if (response.ok) cache.put(request, response.clone());
          return response;
        })
        .catch(function () {
          return cached || Response.error();
        });
      return cached || refresh;
    });
  });
}

function cachedFile(request) {
  // Audio elements ask for byte ranges; a cached whole file answers them (status 200).
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request.url).then(function (cached) {
      return (
        cached ||
        fetch(request.url).then(function (response) {
          if (response.ok) cache.put(request.url, response.clone());
          return response;
        })
      );
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.indexOf("/static/") >= 0) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.indexOf("/kiosk/audio/") >= 0) {
    event.respondWith(cachedFile(request));
  }
});
