// Breaker states from GET /health: each service's own answer beside its circuit breaker.

import { el, fillTable } from "./dom.js";

export function renderBreakers(table, health) {
  const rows = Object.entries(health.breakers).map(([service, breaker]) => ({
    data: { service, state: breaker.state },
    cells: [
      service,
      el("span", { className: `badge ${health.services[service] === "ok" ? "good" : "bad"}` }, health.services[service]),
      el("span", { className: `badge ${breaker.state === "closed" ? "good" : "bad"}` }, breaker.state),
      breaker.failures,
    ],
  }));
  fillTable(table, ["Service", "Answers", "Breaker", "Recent failures"], rows, "No services.");
}
