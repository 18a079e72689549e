// Alert rules, their states and the incidents (GET /api/admin/alerts).

import { el, fillTable, number, time } from "./dom.js";

const badge = (state) => el("span", { className: `badge ${state === "ok" ? "good" : "bad"}` }, state);

export function renderAlerts(rulesTable, incidentsTable, report) {
  const rules = report.rules.map((rule) => ({
    data: { rule: rule.name, state: rule.state },
    cells: [
      el("span", { title: rule.description }, rule.name),
      badge(rule.state),
      time(rule.since),
      number(rule.value),
      `${number(rule.threshold)} over ${rule.window_minutes} min`,
    ],
  }));
  fillTable(rulesTable, ["Rule", "State", "Since", "Value", "Threshold"], rules, "No rules.");
  const incidents = report.incidents.map((incident) => ({
    data: { incident: incident.id },
    cells: [incident.rule, time(incident.started_at), incident.resolved_at ? time(incident.resolved_at) : badge("firing"), number(incident.value)],
  }));
  fillTable(incidentsTable, ["Rule", "Started", "Resolved", "Value"], incidents, "No incidents.");
}
