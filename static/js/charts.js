// Draw every Plotly figure on the page from its JSON data block (see templates/macros/charts.html).
(function () {
  function draw(canvas) {
    var data = canvas.parentNode.querySelector("script.chart-data");
    if (!data || !window.Plotly) { return; }
    var figure = JSON.parse(data.textContent);
    var config = { responsive: true, displaylogo: false, locale: document.documentElement.lang };
    window.Plotly.newPlot(canvas, figure.data || [], figure.layout || {}, config);
  }
  function drawAll() {
    document.querySelectorAll("[data-plotly]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
