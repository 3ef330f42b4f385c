/*
 * Kiosk service worker (served as /kiosk/sw.js, scope /kiosk/).
 *
 * Kiosk pages: network first, falling back to the cached copy, so a reload without a
 * connection still shows the form (the kiosk script stores the page and its assets in
 * the cache once the worker is ready). Static assets: by their versioned address (see
 * staticFile). Read-aloud files (/kiosk/audio/, named by their checksum, so never
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

// Static files are named by their content (?v=<digest>, survey_app/static_files.py), so
// the copy kept under the exact address is the right one, and a new version has a new
// address: it comes from the network, and replaces the older versions of its file (a
// match that ignored the query returned the oldest copy for ever). Offline, any version
// of the file is better than none. An address without a version (a page cached before
// versions existed) is answered from the cache and refreshed in the background.
function staticFile(request) {
  var versioned = new URL(request.url).searchParams.has("v");
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (exact) {
      if (exact && versioned) return exact;
      var fresh = fetch(request).then(function (response) {
        if (response.ok) keepOnly(cache, request, response.clone());
        return response;
      });
      if (exact) {
        fresh.catch(function () {});
        return exact;
      }
      return fresh.catch(function () {
        return cache.match(request, { ignoreSearch: true }).then(function (other) {
          return other || Response.error();
        });
      });
    });
  });
}

// Keep ``response`` as the only copy of its file (whatever the version in the query).
function keepOnly(cache, request, response) {
  return cache
    .keys(request, { ignoreSearch: true })
    .then(function (keys) {
      return Promise.all(
        keys
          .filter(function (key) {
            return key.url !== request.url;
          })
          .map(function (key) {
            return cache.delete(key);
          })
      );
    })
    .then(function () {
      return cache.put(request, response);
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
    event.respondWith(staticFile(request));
  } else if (url.pathname.indexOf("/kiosk/audio/") >= 0) {
    event.respondWith(cachedFile(request));
  }
});
