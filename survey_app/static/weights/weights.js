/* Weighting console: shows only the options of the chosen method, and draws the
 * weights histogram (Plotly, served by the app) from the JSON figure in the page.
 * Loaded with "defer" before plotly.min.js: the form works while the chart library
 * is still loading, and the chart is drawn once everything has run (DOMContentLoaded).
 * No inline script: the page runs under a Content-Security-Policy of script-src 'self'. */
(function () {
  "use strict";

  function followMethod() {
    var form = document.getElementById("weights-form");
    if (!form) {
      return;
    }
    var select = form.querySelector("select[name=method]");
    var sets = form.querySelectorAll("fieldset[data-methods]");
    function update() {
      sets.forEach(function (set) {
        var wanted = set.getAttribute("data-methods").split(" ").indexOf(select.value) >= 0;
        set.hidden = !wanted;
        set.disabled = !wanted;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  function drawHistogram() {
    var data = document.getElementById("weights-figure");
    var target = document.getElementById("weights-histogram");
    if (!data || !target || typeof window.Plotly === "undefined") {
      return;
    }
    var figure = JSON.parse(data.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, figure.config);
  }

  followMethod();  // deferred: the document is parsed
  document.addEventListener("DOMContentLoaded", drawHistogram);
})();
