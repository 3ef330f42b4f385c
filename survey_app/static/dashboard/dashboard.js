/* Draws the dashboard's Plotly figures.
 *
 * Each chart is a <div class="plotly-chart" data-figure="ID"> next to a
 * <script type="application/json" id="ID"> block holding the figure that the server
 * built with plotly.graph_objects. plotly.min.js comes from the app (/assets/), never
 * from the internet. The modebar's camera button saves the chart as a PNG (offline).
 */
(function () {
  "use strict";

  function draw(div) {
    var source = document.getElementById(div.getAttribute("data-figure"));
    if (!source || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    var config = {
      displaylogo: false,
      displayModeBar: true,
      responsive: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      toImageButtonOptions: {
        format: "png",
        filename: div.getAttribute("data-filename") || "chart",
        scale: 2
      }
    };
    window.Plotly.newPlot(div, figure.data, figure.layout || {}, config);
  }

  function start() {
    var charts = document.querySelectorAll(".plotly-chart");
    for (var i = 0; i < charts.length; i += 1) {
      draw(charts[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
