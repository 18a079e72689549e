// The per-route table of GET /api/admin/metrics: traffic, errors, latency, CPU, billable
// units and cost for each worker, kind of work, route and method in the window.

import { el, fillTable, number, percent, usd } from "./dom.js";

const WORKERS = ["gateway", "users", "orders"];
const UNITS = {
  d1_rows_read: "D1 read",
  d1_rows_written: "D1 written",
  kv_reads: "KV read",
  kv_writes: "KV write",
  kv_deletes: "KV delete",
  queue_messages: "queued",
  subrequests: "subreq",
};
const HEADINGS = [
  "Worker",
  "Route",
  "Requests",
  "Errors",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "CPU p50/p99 ms",
  "Units per request",
  "USD/M",
  "USD in window",
];

function units(perRequest) {
  const spent = Object.entries(UNITS).filter(([key]) => perRequest[key] > 0);
  return spent.length ? spent.map(([key, label]) => `${label} ${number(perRequest[key])}`).join(" · ") : "none";
}

function errors(row) {
  const failed = row.errors_4xx + row.errors_5xx + row.failed;
  const detail = `4xx: ${row.errors_4xx}, 5xx: ${row.errors_5xx}, failed messages or runs: ${row.failed}`;
  return el("span", { title: detail, className: row.errors_5xx || row.failed ? "bad" : "" }, percent(failed, row.requests));
}

const order = (row) => [WORKERS.indexOf(row.worker), -row.requests];
const byOrder = (a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1];

export function renderRoutes(table, rows) {
  const shown = [...rows].sort(byOrder).map((row) => ({
    data: { worker: row.worker, kind: row.kind, route: row.route, method: row.method, requests: row.requests },
    cells: [
      row.worker,
      el("span", { title: row.kind }, el("code", {}, row.method), " ", row.route),
      number(row.requests),
      errors(row),
      number(row.latency_ms.p50),
      number(row.latency_ms.p95),
      number(row.latency_ms.p99),
      `${number(row.cpu_ms.p50)} / ${number(row.cpu_ms.p99)}`,
      units(row.units_per_request),
      usd(row.usd_per_million),
      usd(row.usd_window),
    ],
  }));
  fillTable(table, HEADINGS, shown, "No traffic in this window.");
}
