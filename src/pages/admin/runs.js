// The last scheduled maintenance runs (GET /api/admin/maintenance-runs), newest first.

import { badge, el, fillTable, time } from "./dom.js";

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
    run.errors.length ? badge(`${run.errors.length} failed`, false, run.errors.join("\n")) : badge("ok", true),
  ]);
  fillTable(table, ["Started", "Worker", "Job", "Cron", "Handled", "Outcome"], rows, "No runs yet.");
}
