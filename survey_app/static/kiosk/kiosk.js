/*
 * Kiosk mode: one question per screen, touch first, and an offline queue.
 *
 * Everything the page needs (questionnaire, texts in both languages, addresses,
 * timeouts) comes from the JSON block #kiosk-config; this file has no inline
 * counterpart, so the page runs under a Content-Security-Policy without inline scripts.
 *
 * Enrolment: the administrator's link ends in #token=...; the fragment never reaches the
 * server. The token is kept in localStorage and removed from the address bar.
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

  var lang = cfg.lang === "en" ? "en" : "vi";
  var screen = "loading";
  var enrolled = false;
  var answers = {};
  var current = null;
  var startedAt = null;
  var idleTimer = null;
  var thanksTimer = null;
  var advanceTimer = null;

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
    render();
    updateCount();
  }

  // ---------------------------------------------------------------- token

  function takeTokenFromFragment() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) return;
    try {
      localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    } catch (e) {
      /* storage refused: the check below shows the enrolment screen */
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

  /** The items shown given the answers, in order (as survey_app/questionnaire.py). */
  function visible() {
    var shown = [];
    var clean = {};
    q.sections.forEach(function (section) {
      var sectionShown = !section.show_if || matches(section.show_if, clean[section.show_if.item]);
      section.items.forEach(function (item) {
        if (sectionShown && (!item.show_if || matches(item.show_if, clean[item.show_if.item]))) {
          shown.push({ item: item, section: section });
          if (!blank(answers[item.code])) clean[item.code] = answers[item.code];
        }
      });
    });
    return shown;
  }

  // ---------------------------------------------------------------- screens

  function show(name) {
    screen = name;
    ["loading", "enrol", "survey", "thanks"].forEach(function (id) {
      $("kiosk-" + id).hidden = id !== name;
    });
    root.dataset.state = name;
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

  function buildScale(item) {
    var box = group("kiosk-faces kiosk-faces-" + item.labels.length);
    item.labels.forEach(function (text, index) {
      var level = index + 1;
      var button = el("button", "kiosk-face");
      button.type = "button";
      button.setAttribute("aria-pressed", String(answers[item.code] === level));
      button.dataset.value = String(level);
      button.appendChild(faceIcon(level, item.labels.length));
      button.appendChild(el("span", "kiosk-face-label", label(text)));
      button.addEventListener("click", function () {
        choose(item, level, true);
      });
      box.appendChild(button);
    });
    return box;
  }

  function buildSingle(item) {
    var box = group("kiosk-options");
    item.options.forEach(function (option) {
      var button = el("button", "kiosk-option", label(option.label));
      button.type = "button";
      button.setAttribute("aria-pressed", String(answers[item.code] === option.code));
      button.addEventListener("click", function () {
        choose(item, option.code, true);
      });
      box.appendChild(button);
    });
    return box;
  }

  function buildMultiple(item) {
    var box = group("kiosk-options kiosk-chips");
    var chosen = answers[item.code] || [];
    item.options.forEach(function (option) {
      var on = chosen.indexOf(option.code) >= 0;
      var button = el("button", "kiosk-option kiosk-chip", label(option.label));
      button.type = "button";
      button.setAttribute("aria-pressed", String(on));
      button.addEventListener("click", function () {
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
    if (screen !== "survey") return;
    var at = position();
    var entry = at.list[at.index];
    var item = entry.item;
    var total = at.list.length;
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
      area.textContent = "";
      area.appendChild(builders[item.type](item));
      area.dataset.item = item.code;
    }
    renderNav();
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
    nextButton.textContent = last ? t("send") : answered || item.required ? t("next") : t("skip");
    var missing = at.list.some(function (entry) {
      return entry.item.required && blank(answers[entry.item.code]);
    });
    var sendNow = $("k-send-now");
    sendNow.textContent = t("send_now");
    sendNow.hidden = last || missing || Object.keys(answers).length === 0;
  }

  function renderThanks() {
    $("k-thanks-title").textContent = t("thanks_title");
    $("k-thanks-text").textContent = t("thanks_text");
    $("k-thanks-next").textContent = t("thanks_next");
  }

  function focusQuestion() {
    var heading = $("k-question");
    if (heading && screen === "survey") heading.focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- navigation

  function next() {
    clearTimeout(advanceTimer);
    var at = position();
    var item = at.list[at.index].item;
    if (item.required && blank(answers[item.code])) {
      $("k-error").textContent = t("required");
      return;
    }
    $("k-error").textContent = "";
    if (at.index === at.list.length - 1) {
      finish();
      return;
    }
    // Skip logic may have changed with this answer: recompute the list.
    var list = visible();
    var index = -1;
    list.forEach(function (entry, i) {
      if (entry.item.code === item.code) index = i;
    });
    if (index + 1 >= list.length) {
      finish();
      return;
    }
    current = list[index + 1].item.code;
    render();
    focusQuestion();
  }

  function back() {
    clearTimeout(advanceTimer);
    var at = position();
    if (at.index > 0) current = at.list[at.index - 1].item.code;
    $("k-error").textContent = "";
    render();
    focusQuestion();
  }

  function startOver() {
    clearTimeout(thanksTimer);
    clearTimeout(advanceTimer);
    answers = {};
    current = null;
    startedAt = null;
    $("k-error").textContent = "";
    $("k-answer").dataset.item = "";
    if (!enrolled) {
      show("enrol");
      return;
    }
    show("survey");
    if (lang !== DEFAULT_LANG) setLang(DEFAULT_LANG);
    else render();
  }

  function finish() {
    var list = visible();
    var missing = list.filter(function (entry) {
      return entry.item.required && blank(answers[entry.item.code]);
    })[0];
    if (missing) {
      current = missing.item.code;
      render();
      $("k-error").textContent = t("required");
      return;
    }
    var clean = {};
    list.forEach(function (entry) {
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
    show("thanks");
    renderThanks();
    clearTimeout(idleTimer);
    thanksTimer = setTimeout(startOver, cfg.timeouts.thanks * 1000);
    queue
      .put({ id: payload.id, payload: payload, queued_at: now })
      .then(updateCount)
      .then(flush);
  }

  // ---------------------------------------------------------------- inactivity

  function touched() {
    clearTimeout(idleTimer);
    if (screen !== "survey") return;
    idleTimer = setTimeout(function () {
      var dirty = Object.keys(answers).length > 0 || position().index > 0;
      if (screen === "survey" && (dirty || lang !== DEFAULT_LANG)) startOver();
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
          if (screen !== "survey") show("enrol");
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
        return cache.addAll(urls);
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

  $("k-next").addEventListener("click", next);
  $("k-back").addEventListener("click", back);
  $("k-send-now").addEventListener("click", finish);
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
  window.addEventListener("online", flush);
  setInterval(flush, cfg.timeouts.retry * 1000);

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
      show("enrol");
    }
  });
})();
