/* The phone form's last page: send the answers without losing them.
 *
 * The form works without this script. With it, "Send" keeps the answers in
 * localStorage before sending them with fetch(). If the phone is offline, the
 * server is busy (429) or failing (5xx), the answers stay on the phone, the page
 * says honestly that they are NOT recorded yet, and they are sent again when the
 * connection comes back (the "online" event), after Retry-After, or every few
 * seconds. The same answers are resent exactly (same client id and send time,
 * carried by the form's signed "resume" field), so the server stores them once.
 * A kept answer is also resent when any page of the form is opened later.
 *
 * It also wires the read-aloud buttons (citizen.js plays them and toggles the display),
 * and a page brought back from the browser's cache by Back is fetched again, so Back
 * after sending starts a fresh form instead of showing the old answers.
 */
(function () {
  "use strict";

  var KEY = "survey-phone-pending-v1";
  var RETRY_SECONDS = 10;
  var MAX_WAIT_SECONDS = 300;
  var timer = null;
  var inFlight = false;

  function load() {
    try {
      var value = JSON.parse(window.localStorage.getItem(KEY) || "null");
      return value && value.url && value.fields ? value : null;
    } catch (error) {
      return null;
    }
  }

  function store(pending) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(pending));
    } catch (error) {
      /* Private mode or full storage: the answer is then kept by this page only. */
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(KEY);
    } catch (error) { /* nothing kept */ }
  }

  var memory = null; /* the pending answer when localStorage is unavailable */

  function pending() {
    return load() || memory;
  }

  function say(kind) {
    var box = document.getElementById("phone-pending");
    if (!box) { return; }
    box.textContent = box.getAttribute("data-" + kind) || "";
    box.hidden = false;
  }

  function silence() {
    var box = document.getElementById("phone-pending");
    if (box) { box.hidden = true; }
  }

  function buttons(disabled) {
    var form = document.querySelector("form[data-phone-send]");
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
      button.disabled = disabled;
    });
  }

  function later(seconds) {
    window.clearTimeout(timer);
    timer = window.setTimeout(attempt, Math.min(seconds, MAX_WAIT_SECONDS) * 1000);
  }

  function waiting(kind, seconds) {
    inFlight = false;
    say(kind);
    later(seconds || RETRY_SECONDS);
  }

  /* A page answered with errors (422, 409 ...): nothing was stored; show it. */
  function showPage(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.body.innerHTML = doc.body.innerHTML;
    init();
    var alert = document.getElementById("form-errors");
    if (alert) { alert.focus(); }
  }

  /* An old page's CSRF token may have expired: take a fresh one and send again. */
  function refreshToken(entry) {
    return fetch(entry.url, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var input = doc.querySelector("input[name=csrf_token]");
        if (!input) { throw new Error("no token"); }
        entry.fields = entry.fields.map(function (field) {
          return field[0] === "csrf_token" ? ["csrf_token", input.value] : field;
        });
        entry.refreshed = true;
        keep(entry);
      });
  }

  function keep(entry) {
    memory = entry;
    store(entry);
  }

  function done() {
    memory = null;
    forget();
  }

  function attempt() {
    var entry = pending();
    if (!entry || inFlight) { return; }
    inFlight = true;
    window.clearTimeout(timer);
    var body = new URLSearchParams();
    entry.fields.forEach(function (field) { body.append(field[0], field[1]); });
    fetch(entry.url, { method: "POST", body: body, credentials: "same-origin" }).then(
      function (response) {
        if (response.status === 429 || response.status >= 500) {
          var after = parseInt(response.headers.get("Retry-After") || "", 10);
          waiting("busy", after > 0 ? after : RETRY_SECONDS);
          return;
        }
        if (response.status === 400 && !entry.refreshed) {
          inFlight = false;
          refreshToken(entry).then(attempt, function () { waiting("waiting"); });
          return;
        }
        inFlight = false;
        done();
        if (response.ok && response.redirected) {
          window.location.assign(response.url); /* the thank-you page */
          return;
        }
        return response.text().then(showPage);
      },
      function () { waiting("waiting"); } /* offline, or the connection dropped */
    );
  }

  function tools() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-listen]"), function (button) {
      button.addEventListener("click", function () {
        if (window.citizenAudio.playing()) { window.citizenAudio.stop(); return; }
        window.citizenAudio.play(JSON.parse(button.getAttribute("data-urls") || "[]"));
      });
    });
  }

  function init() {
    tools();
    var form = document.querySelector("form[data-phone-send]");
    if (form) {
      form.addEventListener("submit", function (event) {
        var submitter = event.submitter;
        if (submitter && submitter.value === "back") { return; } /* a normal page change */
        event.preventDefault();
        if (inFlight) { return; } /* a double tap sends once */
        var fields = [];
        new FormData(form).forEach(function (value, name) {
          fields.push([name, String(value)]);
        });
        if (submitter && submitter.name) { fields.push([submitter.name, submitter.value]); }
        /* form.action would be the button named "action": read the attribute. */
        var url = new URL(form.getAttribute("action") || "", window.location.href).href;
        keep({ url: url, fields: fields, at: new Date().toISOString() });
        say("sending");
        buttons(true);
        attempt();
      });
    }
    if (pending()) {
      say("sending");
      buttons(true);
      attempt();
    } else {
      silence();
    }
  }

  window.addEventListener("online", attempt);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
