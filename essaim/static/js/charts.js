// Draws the charts of a page with Chart.js (npm, served from node_modules): each
// <canvas data-chart="ID"> reads its data from the JSON element #ID that essaim/lib/charts.py
// wrote (our CSP runs no inline script). The table beside each chart holds the same numbers, so
// without this script, or without Chart.js, nothing is lost.
(() => {
  if (typeof window.Chart === "undefined") return;
  const Chart = window.Chart;
  const root = getComputedStyle(document.documentElement);
  const token = (name) => root.getPropertyValue(`--${name}`).trim();
  const lang = document.documentElement.lang || "fr";

  Chart.defaults.font.family = token("font-sans") || Chart.defaults.font.family;
  Chart.defaults.color = token("color-text-muted");
  Chart.defaults.borderColor = token("color-border");
  Chart.defaults.locale = lang;
  // Dashboards are read, not watched: no animation (and none to sit through with reduced motion).
  Chart.defaults.animation = false;

  const number = new Intl.NumberFormat(lang);

  const draw = (canvas) => {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const spec = JSON.parse(source.textContent);
    const line = spec.kind === "line";
    const points = spec.labels.length;
    const datasets = spec.series.map((series) => {
      const colour = token(series.color) || token("color-primary");
      return {
        label: series.label,
        data: series.values,
        backgroundColor: colour,
        borderColor: colour,
        borderWidth: line ? 2 : 0,
        // A line of a few points shows them; a long one is a curve (its points on hover).
        pointRadius: line ? (points < 3 ? 4 : points <= 24 ? 2 : 0) : 0,
        pointHoverRadius: line ? 4 : 0,
        tension: 0,
        fill: false,
        maxBarThickness: 48,
      };
    });
    const valueAxis = {
      beginAtZero: true,
      stacked: spec.stacked,
      ticks: { precision: 0, callback: (value) => number.format(value) },
      grid: { color: token("color-border") },
    };
    // Long names (a campaign, a mission) are cut on the axis; the tooltip and the table say
    // them whole.
    const room = canvas.parentElement.clientWidth < 480 ? 22 : 34;
    const labelAxis = {
      stacked: spec.stacked,
      grid: { display: false },
      ticks: {
        autoSkip: true,
        maxRotation: 0,
        color: token("color-text-muted"),
        callback(value) {
          const label = String(this.getLabelForValue(value));
          return label.length > room ? `${label.slice(0, room - 1)}…` : label;
        },
      },
    };
    if (spec.horizontal) {
      // Bars along the x axis: the frame grows with the number of bars.
      const rows = spec.labels.length;
      canvas.parentElement.style.height = `${Math.max(7, rows * 2.25 + 4)}rem`;
    }
    new Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        scales: spec.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: {
            display: spec.series.length > 1,
            position: "bottom",
            labels: { boxWidth: 12, boxHeight: 12, color: token("color-text") },
          },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label} : ${number.format(item.parsed[spec.horizontal ? "x" : "y"])}`,
            },
          },
        },
      },
    });
    canvas.dataset.drawn = "true";
  };

  const drawAll = () => document.querySelectorAll("canvas[data-chart]:not([data-drawn])").forEach(draw);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
