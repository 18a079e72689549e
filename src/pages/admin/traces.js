// Recent traces (GET /api/admin/traces): trace id, route, status and time per worker.

import { el, fillTable, number, time } from "./dom.js";

const durations = (trace) =>
  Object.entries(trace.duration_ms)
    .map(([worker, ms]) => `${worker} ${number(ms)} ms`)
    .join(" · ");

const status = (trace) =>
  trace.status ? el("span", { className: trace.status >= 500 ? "bad" : "" }, trace.status) : trace.outcome;

export function renderTraces(table, page) {
  const rows = page.items.map((trace) => ({
    data: { trace: trace.trace_id },
    cells: [
      time(trace.started_at),
      el("code", { title: trace.trace_id }, trace.trace_id.slice(0, 12)),
      el("span", {}, el("code", {}, trace.method), " ", trace.route),
      status(trace),
      durations(trace),
    ],
  }));
  fillTable(table, ["Started", "Trace", "Route", "Status", "Time per worker"], rows, "No traces in this window.");
}
