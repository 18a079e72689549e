// The per-minute charts (requests; 4xx and 5xx; p95 latency) of GET /api/admin/metrics's
// `series`, drawn by uPlot (vendored from npm: /admin/vendor/uplot/, loaded before this).

const uPlot = globalThis.uPlot;
const MINUTE = 60;
const HEIGHT = 180;

// Each chart's lines, in the order of its data columns.
const LINES = {
  requests: [{ label: "requests", stroke: "#2563eb", fill: "rgba(37, 99, 235, 0.12)" }],
  errors: [
    { label: "4xx", stroke: "#d97706" },
    { label: "5xx", stroke: "#dc2626" },
  ],
  // A minute without requests has no p95: a gap, so its points are drawn even where the line breaks.
  latency: [{ label: "p95 ms", stroke: "#7c3aed", points: { show: true, size: 5 } }],
};

const drawn = new Map(); // chart name -> uPlot instance

/** Every minute of the window (x, in seconds) with the series' values: counts are 0 where
 * no request came, p95 is a gap. */
export function minutes(series, windowMinutes, now = Date.now()) {
  const last = Math.floor(now / 1000 / MINUTE) * MINUTE;
  const byMinute = new Map(series.map((point) => [Date.parse(point.minute) / 1000, point]));
  const columns = { x: [], requests: [], errors4xx: [], errors5xx: [], p95: [] };
  for (let at = last - (windowMinutes - 1) * MINUTE; at <= last; at += MINUTE) {
    const point = byMinute.get(at);
    columns.x.push(at);
    columns.requests.push(point ? point.requests : 0);
    columns.errors4xx.push(point ? point.errors_4xx : 0);
    columns.errors5xx.push(point ? point.errors : 0);
    columns.p95.push(point ? point.p95_ms : null);
  }
  return columns;
}

const sum = (values) => values.reduce((total, value) => total + (value ?? 0), 0);

function draw(name, figure, data) {
  const chart = drawn.get(name);
  if (chart) return chart.setData(data);
  const width = Math.max(figure.clientWidth, 240);
  const options = {
    width,
    height: HEIGHT,
    series: [{}, ...LINES[name].map((line) => ({ width: 1.5, ...line }))],
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"), // as the API's times
    axes: [{}, { size: 48 }],
    scales: { y: { range: (_, min, max) => [0, Math.max(max, 1)] } },
    legend: { live: false },
  };
  drawn.set(name, new uPlot(options, data, figure.querySelector(".plot")));
}

/** Draws (or updates) the charts in `figures` ({requests, errors, latency}: elements with a
 * `.plot` inside); answers what they show over the window: the totals and the worst p95. */
export function drawCharts(figures, series, windowMinutes) {
  const columns = minutes(series, windowMinutes);
  draw("requests", figures.requests, [columns.x, columns.requests]);
  draw("errors", figures.errors, [columns.x, columns.errors4xx, columns.errors5xx]);
  draw("latency", figures.latency, [columns.x, columns.p95]);
  return {
    requests: sum(columns.requests),
    errors4xx: sum(columns.errors4xx),
    errors5xx: sum(columns.errors5xx),
    worstP95: Math.max(0, ...columns.p95.filter((value) => value != null)),
  };
}

/** Keeps the charts as wide as their figures. */
export function resizeCharts(figures) {
  for (const [name, chart] of drawn) chart.setSize({ width: Math.max(figures[name].clientWidth, 240), height: HEIGHT });
}
