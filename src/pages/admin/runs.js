// The last scheduled maintenance runs (GET /api/admin/maintenance-runs), newest first.

import { el, fillTable, time } from "./dom.js";

const SHOWN = 10;

const counts = (run) =>
  Object.entries(run.counts)
    .map(([task, count]) => `${task.replaceAll("_", " ")}: ${count}`)
    .join(", ") || "–";

export function renderRuns(table, page) {
  const rows = page.items.slice(0, SHOWN).map((run) => [
    time(run.started_at),
    run.worker,
    run.job,
    el("code", {}, run.cron),
    counts(run),
    run.errors.length ? el("span", { className: "badge bad", title: run.errors.join("\n") }, `${run.errors.length} failed`) : el("span", { className: "badge good" }, "ok"),
  ]);
  fillTable(table, ["Started", "Worker", "Job", "Cron", "Handled", "Outcome"], rows, "No runs yet.");
}
