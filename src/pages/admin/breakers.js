// Breaker states from GET /health: each service's own answer beside its circuit breaker.

import { badge, fillTable } from "./dom.js";

export function renderBreakers(table, health) {
  const rows = Object.entries(health.breakers).map(([service, breaker]) => ({
    data: { service, state: breaker.state },
    cells: [
      service,
      badge(health.services[service], health.services[service] === "ok"),
      badge(breaker.state, breaker.state === "closed"),
      breaker.failures,
    ],
  }));
  fillTable(table, ["Service", "Answers", "Breaker", "Recent failures"], rows, "No services.");
}
