/*
 * Citizens' forms (kiosk and phone): display modes and read-aloud.
 *
 * Loaded in <head> without defer, so the chosen display mode is on <html> before the
 * page is drawn (no flash of small text), and so is the mark (data-citizen-js) that shows
 * the controls needing this script. The modes persist in localStorage:
 * "large" (larger text) and "contrast" (high contrast), toggled by any button with
 * data-display="large|contrast" (aria-pressed tells its state).
 *
 * window.citizenAudio plays a list of audio addresses one after the other through
 * the page's <audio data-citizen-audio> element; the element's data-state says
 * "playing", "ended" or "stopped" (tests read it).
 */
(function () {
  "use strict";

  var KEY = "citizen-display-v1";
  var MODES = ["large", "contrast"];
  var root = document.documentElement;
  // Controls that need this script ([data-needs-js], citizen.css) show from the first
  // paint: shown later, they pushed the form down under a finger already on its way.
  root.setAttribute("data-citizen-js", "");

  function load() {
    try {
      var value = JSON.parse(localStorage.getItem(KEY) || "{}");
      return value && typeof value === "object" ? value : {};
    } catch (e) {
      return {};
    }
  }

  function save(modes) {
    try {
      localStorage.setItem(KEY, JSON.stringify(modes));
    } catch (e) {
      /* storage refused: the mode lasts for this page only */
    }
  }

  var modes = load();

  function apply() {
    MODES.forEach(function (mode) {
      root.classList.toggle("display-" + mode, !!modes[mode]);
    });
    document.querySelectorAll("[data-display]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(!!modes[button.getAttribute("data-display")]));
    });
  }

  apply();

  // ---------------------------------------------------------------- audio

  var queue = [];
  var player = null;

  function element() {
    if (!player || !player.isConnected) {
      player = document.querySelector("audio[data-citizen-audio]");
      if (player) {
        player.addEventListener("ended", function () {
          if (queue.length) start(queue.shift());
          else state("ended");
        });
        player.addEventListener("error", function () {
          if (queue.length) start(queue.shift());
          else state("stopped");
        });
      }
    }
    return player;
  }

  function state(value) {
    if (player) player.setAttribute("data-state", value);
    document.querySelectorAll("[data-listen]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(value === "playing"));
    });
  }

  function start(url) {
    var audio = element();
    if (!audio) return;
    audio.src = url;
    state("playing");
    var played = audio.play();
    if (played && played.catch) {
      played.catch(function () {
        state("stopped"); // not allowed before a tap, or the file is missing
      });
    }
  }

  function stop() {
    queue = [];
    var audio = element();
    if (!audio) return;
    audio.pause();
    audio.removeAttribute("src");
    state("stopped");
  }

  function play(urls) {
    stop();
    queue = (urls || []).filter(Boolean);
    if (queue.length) start(queue.shift());
  }

  function playing() {
    var audio = element();
    return !!audio && audio.getAttribute("data-state") === "playing";
  }

  /** The key a text is looked up by (collection/audio.normalise). */
  function normalise(text) {
    return String(text || "")
      .normalize("NFC")
      .split(/\s+/)
      .filter(Boolean)
      .join(" ");
  }

  window.citizenAudio = { play: play, stop: stop, playing: playing, normalise: normalise };

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-display]") : null;
    if (!button) return;
    var mode = button.getAttribute("data-display");
    modes[mode] = !modes[mode];
    save(modes);
    apply();
  });
  document.addEventListener("DOMContentLoaded", apply);
})();
