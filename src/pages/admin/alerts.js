// Alert rules, their states and the incidents (GET /api/admin/alerts).

import { badge, el, fillTable, number, time } from "./dom.js";

const stateBadge = (state) => badge(state, state === "ok");
// A rule with a window looks at that many minutes of data; without one (0) it counts what is there now.
const threshold = (rule) => `above ${number(rule.threshold)}${rule.window_minutes ? ` over ${rule.window_minutes} min` : ""}`;

/** `into`: the panel's `rules` and `incidents` tables and its `evaluated` line. */
export function renderAlerts(into, report) {
  into.evaluated.replaceChildren(...(report.evaluated_at ? ["Last evaluated ", time(report.evaluated_at), " UTC"] : ["Not evaluated yet."]));
  const rules = report.rules.map((rule) => ({
    data: { rule: rule.name, state: rule.state },
    cells: [
      el("span", {}, el("strong", {}, rule.name), el("br"), el("small", { className: "note" }, rule.description)),
      stateBadge(rule.state),
      time(rule.since),
      number(rule.value),
      threshold(rule),
    ],
  }));
  fillTable(into.rules, ["Rule", "State", "Since", "Value", "Threshold"], rules, "No rules.");
  const incidents = report.incidents.map((incident) => ({
    data: { incident: incident.id },
    cells: [incident.rule, time(incident.started_at), incident.resolved_at ? time(incident.resolved_at) : stateBadge("firing"), number(incident.value)],
  }));
  fillTable(into.incidents, ["Rule", "Started", "Resolved", "Value"], incidents, "No incidents.");
}
