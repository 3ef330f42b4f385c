/* Small-area console: draws the residual plot (Plotly, served by the app) from the
 * JSON figure in the page. Loaded with "defer" before plotly.min.js; the chart is
 * drawn on DOMContentLoaded, when both have run. No inline script (CSP script-src 'self'). */
(function () {
  "use strict";

  function drawResiduals() {
    var data = document.getElementById("residual-figure");
    var target = document.getElementById("residual-plot");
    if (!data || !target || typeof window.Plotly === "undefined") {
      return;
    }
    var figure = JSON.parse(data.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, figure.config);
  }

  document.addEventListener("DOMContentLoaded", drawResiduals);
})();
