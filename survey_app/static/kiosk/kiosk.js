/*
 * Kiosk mode: one question per screen, touch first, read aloud, and an offline queue.
 *
 * Everything the page needs (questionnaire, texts in both languages, addresses of the
 * read-aloud files, the desk's settings, timeouts) comes from the JSON block
 * #kiosk-config; this file has no inline counterpart, so the page runs under a
 * Content-Security-Policy without inline scripts. Display modes and the audio player
 * are in citizen.js.
 *
 * Steps: the questions (the count "Question n of N" keeps N fixed: N is the most
 * questions the answers still to be given can show, as collection/phone.most_shown),
 * then a review screen (answers, the dossier code on a number pad if the desk asks
 * for it, "Send my answers" far from "Change answers"), then the thank-you screen,
 * which says whether the answers reached the server or wait on the tablet.
 *
 * Enrolment: the administrator's link ends in #token=...; the fragment never reaches the
 * server. The token is kept in localStorage and removed from the address bar. A tablet
 * without a valid token shows citizens only "this kiosk is not ready".
 *
 * Queue: a finished response gets a client UUID and is written to IndexedDB first, then
 * sent. 201/200 (stored, or stored before) and 409 (the id exists with other content)
 * remove it; 422/400/413 move it to a log kept on the tablet; anything else (offline,
 * 429, 5xx) leaves it queued for the next try: on load, on the 'online' event and on a
 * timer.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("kiosk-config").textContent);
  var q = cfg.definition;
  var root = document.getElementById("kiosk");
  var TOKEN_KEY = "kiosk-token:" + cfg.desk;
  var DEFAULT_LANG = "vi";
  var CACHE = "kiosk-v1";
  var SCREENS = ["loading", "not-ready", "survey", "review", "thanks"];
  // A tap that lands on the review screen within this time is the end of the tap
  // that brought it (or a double tap), never a decision to send.
  var REVIEW_GUARD_MS = 700;
  var MAX_BRANCH_TRIALS = 512; // as collection/phone.MAX_BRANCH_TRIALS

  var lang = cfg.lang === "en" ? "en" : "vi";
  var screen = "loading";
  var enrolled = false;
  var answers = {};
  var dossier = "";
  var current = null;
  var startedAt = null;
  var guardTimer = null;
  var idleTimer = null;
  var thanksTimer = null;
  var advanceTimer = null;
  var sayTimer = null;
  var lastSpoken = null;

  function $(id) {
    return document.getElementById(id);
  }

  // ---------------------------------------------------------------- texts

  function t(key, params) {
    var text = cfg.strings[lang][key] || cfg.strings.vi[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(params[name]));
    });
    return text;
  }

  function label(text) {
    return text ? text[lang] || text.vi : "";
  }

  function setLang(next) {
    lang = next === "en" ? "en" : "vi";
    document.documentElement.lang = lang;
    document.querySelectorAll(".lang-switch a[hreflang]").forEach(function (link) {
      if (link.getAttribute("hreflang") === lang) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
    var brand = document.querySelector(".site-header .brand");
    if (brand) brand.textContent = t("site");
    var footer = document.querySelector(".site-footer");
    if (footer) footer.textContent = t("footer");
    $("k-listen-text").textContent = t("listen");
    $("k-larger-text").textContent = t("larger");
    $("k-contrast-text").textContent = t("contrast");
    $("k-tools").setAttribute("aria-label", t("tools"));
    lastSpoken = null;
    render();
    updateCount();
  }

  // ---------------------------------------------------------------- read aloud

  /** The audio addresses of these texts in the current language (missing ones left out). */
  function sounds(texts) {
    var files = (cfg.audio || {})[lang] || {};
    return texts
      .map(function (text) {
        return files[window.citizenAudio.normalise(text)];
      })
      .filter(Boolean);
  }

  /** What the speaker button reads on the current screen, in order. */
  function screenTexts() {
    if (screen === "survey") {
      var entry = position().list[position().index];
      var texts = [$("k-question").textContent, $("k-help").textContent];
      var item = entry.item;
      (item.labels || []).forEach(function (text) {
        texts.push(label(text));
      });
      (item.options || []).forEach(function (option) {
        texts.push(label(option.label));
      });
      return texts;
    }
    if (screen === "review") {
      var review = [t("review_title"), t("review_help")];
      if (cfg.settings.dossier) review.push(t("dossier_label"), t("dossier_help"));
      return review;
    }
    if (screen === "thanks") return [t("thanks_title"), $("k-thanks-text").textContent];
    if (screen === "not-ready") {
      var box = document.querySelector('.kiosk-not-ready-lang[lang="' + lang + '"]');
      return box ? [box.querySelector("h1, h2").textContent, box.querySelector("p").textContent] : [];
    }
    return [];
  }

  function listen() {
    if (window.citizenAudio.playing()) window.citizenAudio.stop();
    else window.citizenAudio.play(sounds(screenTexts()));
  }

  /** Read the screen by itself when the desk asks for it (once per question). */
  function autoRead(key) {
    if (!cfg.settings.read_aloud_auto || key === lastSpoken) return;
    lastSpoken = key;
    clearTimeout(sayTimer);
    sayTimer = setTimeout(function () {
      window.citizenAudio.play(sounds(screenTexts()));
    }, 150);
  }
  // ---------------------------------------------------------------- token

  function takeTokenFromFragment() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) return;
    try {
      localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    } catch (e) {
      /* storage refused: the check below shows the not-ready screen */
    }
    history.replaceState(null, "", location.pathname + location.search);
  }

  function token() {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  function checkToken() {
    var stored = token();
    if (!stored) return Promise.resolve(false);
    return fetch(cfg.urls.check, {
      headers: { Authorization: "Bearer " + stored },
      cache: "no-store",
    }).then(
      function (response) {
        return response.status !== 401 && response.status !== 403;
      },
      function () {
        // Offline: trust the stored token; answers wait in the queue.
        return true;
      }
    );
  }


  // ---------------------------------------------------------------- skip logic

  function blank(value) {
    return (
      value === undefined ||
      value === null ||
      (typeof value === "string" && !value.trim()) ||
      (Array.isArray(value) && value.length === 0)
    );
  }

  function matches(condition, value) {
    var values = "equals" in condition ? [condition.equals] : condition.in;
    if (Array.isArray(value)) {
      return value.some(function (v) {
        return values.indexOf(v) >= 0;
      });
    }
    if (value === undefined || value === null || typeof value === "boolean") return false;
    return values.indexOf(value) >= 0;
  }

  /** The items shown given the answers, in order (as visible_items in survey_app/collection/questionnaire/validation.py). */
  function visible(given) {
    var source = given || answers;
    var shown = [];
    var clean = {};
    q.sections.forEach(function (section) {
      var sectionShown = !section.show_if || matches(section.show_if, clean[section.show_if.item]);
      section.items.forEach(function (item) {
        if (sectionShown && (!item.show_if || matches(item.show_if, clean[item.show_if.item]))) {
          shown.push({ item: item, section: section });
          if (!blank(source[item.code])) clean[item.code] = source[item.code];
        }
      });
    });
    return shown;
  }

  /**
   * The most questions the answers still to be given can show (collection/phone.most_shown):
   * each unanswered item that steers skip logic is tried with every value a condition
   * names (and blank unless required); the count shown as "of N" therefore never changes
   * while the citizen answers.
   */
  function mostShown() {
    var named = {};
    var conditions = [];
    q.sections.forEach(function (section) {
      if (section.show_if) conditions.push(section.show_if);
      section.items.forEach(function (item) {
        if (item.show_if) conditions.push(item.show_if);
      });
    });
    conditions.forEach(function (condition) {
      var values = "equals" in condition ? [condition.equals] : condition.in;
      named[condition.item] = (named[condition.item] || []).concat(values);
    });
    var open = [];
    var choices = [];
    var trials = 1;
    q.sections.forEach(function (section) {
      section.items.forEach(function (item) {
        if (!(item.code in named) || !blank(answers[item.code])) return;
        var values = named[item.code].filter(function (v, i, all) {
          return all.indexOf(v) === i;
        });
        var options = item.type === "multiple" ? [values] : values.slice();
        if (!item.required) options.push(null);
        open.push(item.code);
        choices.push(options);
        trials *= options.length;
      });
    });
    if (trials > MAX_BRANCH_TRIALS) {
      return q.sections.reduce(function (sum, section) {
        return sum + section.items.length;
      }, 0);
    }
    var best = 0;
    (function walk(i, trial) {
      if (i === open.length) {
        best = Math.max(best, visible(trial).length);
        return;
      }
      choices[i].forEach(function (value) {
        var next = Object.assign({}, trial);
        if (value !== null) next[open[i]] = value;
        walk(i + 1, next);
      });
    })(0, Object.assign({}, answers));
    return best;
  }

  // ---------------------------------------------------------------- screens

  function show(name) {
    screen = name;
    SCREENS.forEach(function (id) {
      $("kiosk-" + id).hidden = id !== name;
    });
    root.dataset.state = name;
    window.citizenAudio.stop();
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function faceIcon(level, levels) {
    var face = levels <= 1 ? 3 : Math.round(1 + ((level - 1) * 4) / (levels - 1));
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "kiosk-face-icon");
    var use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", cfg.urls.faces + "#face-" + face);
    svg.appendChild(use);
    return svg;
  }

  /** A group of answer buttons named by the question. */
  function group(className) {
    var box = el("div", className);
    box.setAttribute("role", "group");
    box.setAttribute("aria-labelledby", "k-question");
    return box;
  }

  function choose(item, value, autoAdvance) {
    answers[item.code] = value;
    if (!startedAt) startedAt = isoNow();
    $("k-error").textContent = "";
    render();
    if (autoAdvance) {
      clearTimeout(advanceTimer);
      advanceTimer = setTimeout(next, 250);
    }
  }

  /** An answer button; data-key lets the focus come back to it after a redraw. */
  function answerButton(className, key, pressed, onClick) {
    var button = el("button", className);
    button.type = "button";
    button.dataset.key = key;
    button.setAttribute("aria-pressed", String(pressed));
    button.addEventListener("click", onClick);
    return button;
  }

  function buildScale(item) {
    var box = group("kiosk-faces kiosk-faces-" + item.labels.length);
    item.labels.forEach(function (text, index) {
      var level = index + 1;
      var button = answerButton("kiosk-face", String(level), answers[item.code] === level, function () {
        choose(item, level, true);
      });
      button.dataset.value = String(level);
      button.appendChild(faceIcon(level, item.labels.length));
      button.appendChild(el("span", "kiosk-face-label", label(text)));
      box.appendChild(button);
    });
    return box;
  }

  function buildSingle(item) {
    var box = group("kiosk-options");
    item.options.forEach(function (option) {
      var button = answerButton("kiosk-option", option.code, answers[item.code] === option.code, function () {
        choose(item, option.code, true);
      });
      button.textContent = label(option.label);
      box.appendChild(button);
    });
    return box;
  }

  function buildMultiple(item) {
    var box = group("kiosk-options kiosk-chips");
    var chosen = answers[item.code] || [];
    item.options.forEach(function (option) {
      var on = chosen.indexOf(option.code) >= 0;
      var button = answerButton("kiosk-option kiosk-chip", option.code, on, function () {
        var list = (answers[item.code] || []).slice();
        var at = list.indexOf(option.code);
        if (at >= 0) list.splice(at, 1);
        else if (!item.max_choices || list.length < item.max_choices) list.push(option.code);
        var order = item.options.map(function (o) {
          return o.code;
        });
        list.sort(function (a, b) {
          return order.indexOf(a) - order.indexOf(b);
        });
        choose(item, list.length ? list : null, false);
      });
      button.textContent = label(option.label);
      box.appendChild(button);
    });
    return box;
  }

  function buildNumber(item) {
    var box = el("div", "kiosk-number");
    var input = el("input", "kiosk-number-input");
    input.type = "number";
    input.inputMode = item.integer ? "numeric" : "decimal";
    input.id = "k-input";
    input.setAttribute("aria-labelledby", "k-question");
    input.placeholder = t("number_placeholder");
    if (item.min !== null && item.min !== undefined) input.min = String(item.min);
    if (item.max !== null && item.max !== undefined) input.max = String(item.max);
    if (!blank(answers[item.code])) input.value = String(answers[item.code]);
    function store(value) {
      var ok =
        !isNaN(value) &&
        (item.min === null || item.min === undefined || value >= item.min) &&
        (item.max === null || item.max === undefined || value <= item.max) &&
        (!item.integer || Math.floor(value) === value);
      answers[item.code] = ok ? value : null;
      if (ok && !startedAt) startedAt = isoNow();
    }
    input.addEventListener("input", function () {
      store(input.value === "" ? NaN : Number(input.value));
      renderNav();
    });
    function stepper(text, delta, name) {
      var button = el("button", "kiosk-btn kiosk-step", text);
      button.type = "button";
      button.setAttribute("aria-label", name);
      button.addEventListener("click", function () {
        var base = blank(answers[item.code]) ? (item.min || 0) - (delta > 0 ? 1 : 0) : answers[item.code];
        var value = base + delta;
        if (item.min !== null && item.min !== undefined) value = Math.max(item.min, value);
        if (item.max !== null && item.max !== undefined) value = Math.min(item.max, value);
        input.value = String(value);
        store(value);
        renderNav();
      });
      return button;
    }
    box.appendChild(stepper("−", -1, t("decrease")));
    box.appendChild(input);
    box.appendChild(stepper("+", 1, t("increase")));
    if (item.unit) box.appendChild(el("span", "kiosk-unit", label(item.unit)));
    return box;
  }

  function buildText(item) {
    var box = el("div", "kiosk-text");
    var area = el("textarea", "kiosk-textarea");
    area.id = "k-input";
    area.rows = 4;
    area.setAttribute("aria-labelledby", "k-question");
    area.setAttribute("aria-describedby", "k-warning");
    if (item.max_length) area.maxLength = item.max_length;
    area.placeholder = t("comment_placeholder");
    area.value = answers[item.code] || "";
    area.addEventListener("input", function () {
      answers[item.code] = area.value.trim() ? area.value : null;
      if (!startedAt) startedAt = isoNow();
      renderNav();
    });
    box.appendChild(area);
    if (item.warning) {
      var warning = el("p", "kiosk-warning", label(item.warning));
      warning.id = "k-warning";
      box.appendChild(warning);
    }
    return box;
  }

  var builders = {
    smiley: buildScale,
    likert5: buildScale,
    single: buildSingle,
    multiple: buildMultiple,
    number: buildNumber,
    text: buildText,
  };

  function position() {
    var list = visible();
    var index = -1;
    list.forEach(function (entry, i) {
      if (entry.item.code === current) index = i;
    });
    if (index < 0) {
      index = 0;
      current = list[0].item.code;
    }
    return { list: list, index: index };
  }

  function render() {
    if (screen === "thanks") renderThanks();
    if (screen === "review") renderReview();
    if (screen === "not-ready") autoRead("not-ready:" + lang);
    if (screen !== "survey") return;
    var at = position();
    var entry = at.list[at.index];
    var item = entry.item;
    var total = Math.max(mostShown(), at.list.length);
    $("k-section").textContent = label(entry.section.title);
    $("k-progress").textContent = t("progress", { n: at.index + 1, total: total });
    var bar = $("k-bar");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(at.index + 1));
    bar.setAttribute("aria-label", t("progress_label"));
    bar.firstElementChild.style.width = ((100 * (at.index + 1)) / total).toFixed(1) + "%";
    $("k-question").textContent = label(item.label);
    var help = [];
    if (entry.section.description) help.push(label(entry.section.description));
    if (item.help) help.push(label(item.help));
    if (!help.length && (item.type === "smiley" || item.type === "likert5")) help.push(t("tap_face"));
    if (!help.length && item.type === "multiple") help.push(t("choose_many"));
    $("k-help").textContent = help.join(" ");
    var area = $("k-answer");
    var keepInput = area.dataset.item === item.code && (item.type === "text" || item.type === "number");
    if (!keepInput) {
      // Redrawing the buttons must not drop the keyboard focus to the page.
      var focused = document.activeElement;
      var focusKey = focused && area.contains(focused) ? focused.dataset.key : null;
      area.textContent = "";
      area.appendChild(builders[item.type](item));
      area.dataset.item = item.code;
      if (focusKey) {
        var again = area.querySelector('[data-key="' + CSS.escape(focusKey) + '"]');
        if (again) again.focus({ preventScroll: true });
      }
    }
    renderNav();
    autoRead(lang + ":" + item.code);
  }

  function renderNav() {
    if (screen !== "survey") return;
    var at = position();
    var item = at.list[at.index].item;
    var last = at.index === at.list.length - 1;
    var answered = !blank(answers[item.code]);
    var back = $("k-back");
    back.textContent = t("back");
    back.hidden = at.index === 0;
    var nextButton = $("k-next");
    nextButton.textContent = answered || item.required ? t("next") : t("skip");
    var missing = at.list.some(function (entry) {
      return entry.item.required && blank(answers[entry.item.code]);
    });
    var sendNow = $("k-send-now");
    sendNow.textContent = t("send_now");
    sendNow.hidden = last || missing || Object.keys(answers).length === 0;
  }

  function answerText(item, value) {
    if (blank(value)) return t("not_answered");
    if (item.type === "smiley" || item.type === "likert5") return label(item.labels[value - 1]);
    if (item.type === "single" || item.type === "multiple") {
      var codes = Array.isArray(value) ? value : [value];
      return item.options
        .filter(function (option) {
          return codes.indexOf(option.code) >= 0;
        })
        .map(function (option) {
          return label(option.label);
        })
        .join(", ");
    }
    if (item.type === "number" && item.unit) return String(value) + " " + label(item.unit);
    return String(value);
  }

  function renderReview() {
    $("k-review-title").textContent = t("review_title");
    $("k-review-help").textContent = t("review_help");
    var list = $("k-review-list");
    list.textContent = "";
    visible().forEach(function (entry) {
      list.appendChild(el("dt", "", label(entry.item.label)));
      list.appendChild(el("dd", "", answerText(entry.item, answers[entry.item.code])));
    });
    var box = $("k-dossier");
    box.hidden = !cfg.settings.dossier;
    $("k-dossier-label").textContent = t("dossier_label");
    $("k-dossier-help").textContent = t("dossier_help");
    var pad = $("k-pad");
    if (!pad.childElementCount) buildPad(pad);
    pad.lastElementChild.setAttribute("aria-label", t("dossier_delete"));
    $("k-review-change").textContent = t("review_change");
    $("k-review-send").textContent = t("review_send");
    autoRead("review:" + lang);
  }

  /** Digits 1–9, 0 and a delete key that type into the dossier field. */
  function buildPad(pad) {
    var input = $("k-dossier-input");
    "1234567890".split("").concat(["⌫"]).forEach(function (key) {
      var button = el("button", "kiosk-btn kiosk-pad-key", key);
      button.type = "button";
      button.addEventListener("click", function () {
        var value = input.value;
        input.value = key === "⌫" ? value.slice(0, -1) : (value + key).slice(0, 64);
        dossier = input.value;
      });
      pad.appendChild(button);
    });
    input.addEventListener("input", function () {
      dossier = input.value;
    });
  }

  function renderThanks() {
    $("k-thanks-title").textContent = t("thanks_title");
    var outcome = root.dataset.outcome || "sending";
    var key = { sending: "thanks_sending", sent: "thanks_text", saved: "thanks_saved", duplicate: "thanks_duplicate" }[outcome];
    $("k-thanks-text").textContent = t(key);
    $("k-thanks-next").textContent = t("thanks_next");
    if (outcome !== "sending") autoRead("thanks:" + outcome + ":" + lang);
  }

  function focusHeading(id) {
    var heading = $(id);
    if (heading && !heading.closest("[hidden]")) heading.focus({ preventScroll: true });
  }
  /** After a step, the keyboard focus goes to the first answer control (named by the question). */
  function focusAnswer() {
    if (screen !== "survey") return;
    var area = $("k-answer");
    var target =
      area.querySelector('[aria-pressed="true"]') || area.querySelector("button, input, textarea");
    if (target) target.focus({ preventScroll: true });
    else focusHeading("k-question");
  }

  // ---------------------------------------------------------------- navigation

  function next() {
    clearTimeout(advanceTimer);
    if (screen !== "survey") return;
    var at = position();
    var item = at.list[at.index].item;
    if (item.required && blank(answers[item.code])) {
      $("k-error").textContent = t("required");
      return;
    }
    $("k-error").textContent = "";
    // Skip logic may have changed with this answer: recompute the list.
    var list = visible();
    var index = -1;
    list.forEach(function (entry, i) {
      if (entry.item.code === item.code) index = i;
    });
    if (index + 1 >= list.length) {
      review();
      return;
    }
    current = list[index + 1].item.code;
    render();
    focusAnswer();
  }

  function back() {
    clearTimeout(advanceTimer);
    var at = position();
    if (at.index > 0) current = at.list[at.index - 1].item.code;
    $("k-error").textContent = "";
    render();
    focusAnswer();
  }

  function firstMissing() {
    return visible().filter(function (entry) {
      return entry.item.required && blank(answers[entry.item.code]);
    })[0];
  }

  /** The review step: the answers, the dossier code if asked, then an explicit send. */
  function review() {
    clearTimeout(advanceTimer);
    var missing = firstMissing();
    if (missing) {
      current = missing.item.code;
      render();
      $("k-error").textContent = t("required");
      return;
    }
    show("review");
    renderReview();
    var sendButton = $("k-review-send");
    sendButton.disabled = true; // the guard, visible: enabled a moment later
    clearTimeout(guardTimer);
    guardTimer = setTimeout(function () {
      sendButton.disabled = false;
    }, REVIEW_GUARD_MS);
    var first = cfg.settings.dossier ? $("k-dossier-input") : $("k-review-change");
    first.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  function changeAnswers() {
    show("survey");
    var list = visible();
    current = list[list.length - 1].item.code;
    render();
    focusAnswer();
  }

  function startOver() {
    clearTimeout(thanksTimer);
    clearTimeout(advanceTimer);
    answers = {};
    dossier = "";
    $("k-dossier-input").value = "";
    current = null;
    startedAt = null;
    lastSpoken = null;
    $("k-error").textContent = "";
    $("k-answer").dataset.item = "";
    if (!enrolled) {
      show("not-ready");
      render();
      return;
    }
    show("survey");
    if (lang !== DEFAULT_LANG) setLang(DEFAULT_LANG);
    else render();
  }

  function send() {
    if (screen !== "review" || $("k-review-send").disabled) return;
    if (firstMissing()) {
      review();
      return;
    }
    var clean = {};
    visible().forEach(function (entry) {
      var value = answers[entry.item.code];
      if (!blank(value)) clean[entry.item.code] = typeof value === "string" ? value.trim() : value;
    });
    var now = isoNow();
    var payload = {
      id: uuid(),
      desk: cfg.desk,
      questionnaire: cfg.questionnaire,
      answers: clean,
      channel: "kiosk",
      lang: lang,
      started_at: startedAt || now,
      submitted_at: now,
    };
    if (cfg.settings.dossier && dossier.trim()) payload.dossier = dossier.trim();
    root.dataset.outcome = "sending";
    show("thanks");
    renderThanks();
    focusHeading("k-thanks-title");
    clearTimeout(idleTimer);
    queue
      .put({ id: payload.id, payload: payload, queued_at: now })
      .then(updateCount)
      .then(function () {
        // A server that does not answer must not hold the thank-you screen.
        return Promise.race([flush(), wait(4000)]);
      })
      .then(function () {
        return outcomeOf(payload.id);
      })
      .then(function (outcome) {
        root.dataset.outcome = outcome;
        if (screen === "thanks") renderThanks();
        thanksTimer = setTimeout(startOver, cfg.timeouts.thanks * 1000);
      });
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /** Whether this response reached the server, waits on the tablet, or was a used dossier. */
  function outcomeOf(id) {
    return Promise.all([queue.all(), queue.logged()]).then(function (results) {
      var waiting = results[0].some(function (record) {
        return record.id === id;
      });
      if (waiting) return "saved";
      var refused = results[1].filter(function (entry) {
        return entry.id === id;
      })[0];
      if (refused && refused.body.indexOf("duplicate_dossier") >= 0) return "duplicate";
      return "sent";
    });
  }

  // ---------------------------------------------------------------- inactivity

  function touched() {
    clearTimeout(idleTimer);
    if (screen !== "survey" && screen !== "review") return;
    idleTimer = setTimeout(function () {
      var dirty = Object.keys(answers).length > 0 || position().index > 0 || screen === "review";
      if ((screen === "survey" || screen === "review") && (dirty || lang !== DEFAULT_LANG)) startOver();
    }, cfg.timeouts.idle * 1000);
  }

  // ---------------------------------------------------------------- ids and times

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function isoNow() {
    var d = new Date();
    var offset = -d.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    function pad(n) {
      return (n < 10 ? "0" : "") + n;
    }
    var abs = Math.abs(offset);
    return (
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
      sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60)
    );
  }


  // ---------------------------------------------------------------- the queue

  var queue = (function () {
    var name = "survey-kiosk-" + cfg.desk;
    var memory = { outbox: {}, log: [] };
    var opened = new Promise(function (resolve) {
      if (!window.indexedDB) {
        resolve(null);
        return;
      }
      var request = indexedDB.open(name, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("outbox", { keyPath: "id" });
        request.result.createObjectStore("log", { autoIncrement: true });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        resolve(null); // private mode or storage refused: keep the queue in memory
      };
    });

    function run(store, mode, action) {
      return opened.then(function (db) {
        if (!db) return action(null);
        return new Promise(function (resolve, reject) {
          var tx = db.transaction(store, mode, { durability: "strict" });
          var request = action(tx.objectStore(store));
          tx.oncomplete = function () {
            resolve(request ? request.result : undefined);
          };
          tx.onerror = tx.onabort = function () {
            reject(tx.error);
          };
        });
      });
    }

    return {
      put: function (record) {
        return run("outbox", "readwrite", function (store) {
          if (!store) memory.outbox[record.id] = record;
          else return store.put(record);
        });
      },
      all: function () {
        return run("outbox", "readonly", function (store) {
          if (!store) return { result: Object.values(memory.outbox) };
          return store.getAll();
        }).then(function (result) {
          return result && result.result ? result.result : result || [];
        });
      },
      remove: function (id) {
        return run("outbox", "readwrite", function (store) {
          if (!store) delete memory.outbox[id];
          else return store.delete(id);
        });
      },
      log: function (entry) {
        return run("log", "readwrite", function (store) {
          if (!store) memory.log.push(entry);
          else return store.add(entry);
        });
      },
      logged: function () {
        return run("log", "readonly", function (store) {
          if (!store) return { result: memory.log.slice() };
          return store.getAll();
        }).then(function (result) {
          return result && result.result ? result.result : result || [];
        });
      },
    };
  })();

  var flushing = null;
  var flushAgain = false;

  function flush() {
    if (flushing) {
      flushAgain = true;
      return flushing;
    }
    flushing = sendQueued()
      .catch(function () {
        /* the next try will tell */
      })
      .then(function () {
        flushing = null;
        if (flushAgain) {
          flushAgain = false;
          return flush();
        }
      });
    return flushing;
  }

  function sendQueued() {
    var stored = token();
    if (!stored) return Promise.resolve();
    return queue.all().then(function (records) {
      records.sort(function (a, b) {
        return a.queued_at < b.queued_at ? -1 : 1;
      });
      var chain = Promise.resolve(true);
      records.forEach(function (record) {
        chain = chain.then(function (goOn) {
          return goOn ? sendOne(record, stored) : false;
        });
      });
      return chain.then(updateCount);
    });
  }

  /** Send one queued response; resolve to whether to go on with the next one. */
  function sendOne(record, stored) {
    return fetch(cfg.urls.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + stored },
      body: JSON.stringify(record.payload),
      cache: "no-store",
      credentials: "omit",
    }).then(
      function (response) {
        var status = response.status;
        if (status === 201 || status === 200) {
          return queue.remove(record.id).then(function () {
            return true;
          });
        }
        if (status === 409 || status === 422 || status === 400 || status === 413) {
          return response
            .text()
            .catch(function () {
              return "";
            })
            .then(function (body) {
              var entry = { id: record.id, status: status, at: isoNow(), body: body.slice(0, 2000) };
              if (status !== 409) entry.payload = record.payload; // kept on the tablet
              return queue.log(entry);
            })
            .then(function () {
              return queue.remove(record.id);
            })
            .then(function () {
              return true;
            });
        }
        if (status === 401 || status === 403) {
          enrolled = false;
          if (screen !== "survey" && screen !== "review") show("not-ready");
        }
        return false; // 401, 429, 5xx: try again later
      },
      function () {
        return false; // offline
      }
    );
  }

  function updateCount() {
    return Promise.all([queue.all(), queue.logged()]).then(function (results) {
      var waiting = results[0].length;
      var rejected = results[1].filter(function (entry) {
        return entry.status !== 409;
      }).length;
      var badge = $("k-queue");
      var parts = [];
      if (waiting) parts.push(t("queued", { count: waiting }));
      if (rejected) parts.push(t("rejected", { count: rejected }));
      badge.textContent = parts.join(" · ");
      badge.hidden = parts.length === 0;
      root.dataset.queued = String(waiting);
    });
  }


  // ---------------------------------------------------------------- offline page

  function audioUrls() {
    var urls = [];
    Object.keys(cfg.audio || {}).forEach(function (code) {
      Object.keys(cfg.audio[code]).forEach(function (text) {
        var url = cfg.audio[code][text];
        if (urls.indexOf(url) < 0) urls.push(url);
      });
    });
    return urls;
  }

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !window.caches) return;
    navigator.serviceWorker
      .register(cfg.urls.sw)
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function () {
        return caches.open(CACHE);
      })
      .then(function (cache) {
        var urls = [cfg.urls.page, cfg.urls.faces];
        document
          .querySelectorAll('link[rel~="stylesheet"], link[rel~="icon"], script[src]')
          .forEach(function (node) {
            urls.push(node.getAttribute("href") || node.getAttribute("src"));
          });
        // The read-aloud files too (each named by its checksum: fetched once, ever).
        return cache.addAll(urls).then(function () {
          return Promise.all(
            audioUrls().map(function (url) {
              return cache.match(url).then(function (hit) {
                return hit || cache.add(url);
              });
            })
          );
        });
      })
      .then(function () {
        root.dataset.offline = "ready";
      })
      .catch(function () {
        root.dataset.offline = "unavailable";
      });
  }

  // ---------------------------------------------------------------- start

  function fullscreen() {
    if (!cfg.fullscreen || !document.fullscreenEnabled || document.fullscreenElement) return;
    document.documentElement.requestFullscreen().catch(function () {
      /* not allowed here: fine */
    });
  }

  /** The kiosk stays on its survey: the site title is no link here. */
  function confine() {
    var brand = document.querySelector(".site-header .brand");
    if (brand) {
      brand.removeAttribute("href");
      brand.setAttribute("role", "heading");
      brand.setAttribute("aria-level", "2");
    }
  }

  $("k-next").addEventListener("click", next);
  $("k-back").addEventListener("click", back);
  $("k-send-now").addEventListener("click", review);
  $("k-review-send").addEventListener("click", send);
  $("k-review-change").addEventListener("click", changeAnswers);
  $("k-listen").addEventListener("click", listen);
  document.querySelectorAll(".lang-switch a[hreflang]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      setLang(link.getAttribute("hreflang"));
      touched();
    });
  });
  ["pointerdown", "keydown", "input"].forEach(function (type) {
    document.addEventListener(type, touched, true);
  });
  document.addEventListener("pointerdown", fullscreen, true);
  // A new tap while a chosen face waits to move on cancels the move: the next question
  // would shift the buttons under the finger, and the tap (on "Review and send", say)
  // would end on something else. A tap on an answer starts the wait again.
  document.addEventListener(
    "pointerdown",
    function () {
      clearTimeout(advanceTimer);
    },
    true
  );
  window.addEventListener("online", flush);
  setInterval(flush, cfg.timeouts.retry * 1000);

  confine();
  takeTokenFromFragment();
  setLang(lang);
  updateCount();
  registerServiceWorker();
  checkToken().then(function (ok) {
    enrolled = ok;
    if (ok) {
      startOver();
      flush();
    } else {
      show("not-ready");
      render();
    }
  });
})();
