// GET /admin/: the operations dashboard. Signs in, checks the role, then loads every panel
// for the chosen window and again on the chosen interval.

import { ApiError, call, signIn, signOut, whenSignedOut } from "./api.js";
import { drawCharts, resizeCharts } from "./charts.js";
import { note, number } from "./dom.js";
import { renderAlerts } from "./alerts.js";
import { renderBreakers } from "./breakers.js";
import { renderDeadLetters } from "./deadletters.js";
import { renderRoutes } from "./routes.js";
import { renderRuns } from "./runs.js";
import { renderTraces } from "./traces.js";

const $ = (id) => document.getElementById(id);
const figures = { requests: $("chart-requests"), errors: $("chart-errors"), latency: $("chart-latency") };
let timer = null;

function show(view) {
  for (const id of ["sign-in", "admins-only", "dashboard"]) $(id).hidden = id !== view;
  $("session").hidden = view === "sign-in";
}

function caption(id, text) {
  $(id).textContent = text;
}

function charts(report) {
  const shown = drawCharts(figures, report.series, report.window_minutes);
  caption("total-requests", `${number(shown.requests)} in the window`);
  caption("total-errors", `4xx: ${number(shown.errors4xx)}, 5xx: ${number(shown.errors5xx)}`);
  caption("worst-latency", shown.worstP95 ? `worst minute: ${number(shown.worstP95)} ms` : "no requests");
  if (!performance.getEntriesByName("first-chart").length) requestAnimationFrame(() => performance.mark("first-chart"));
}

/** What each panel loads and how it shows it; a failure shows in that panel only. */
const PANELS = [
  {
    target: "routes-panel",
    path: (minutes) => `/api/admin/metrics?window=${minutes}`,
    render(report) {
      charts(report);
      renderRoutes($("routes"), report.routes);
    },
  },
  { target: "breakers-panel", path: () => "/health", render: (health) => renderBreakers($("breakers"), health), shaped: [503] },
  { target: "dead-letters-panel", path: () => "/api/admin/dead-letters?limit=20", render: (page) => renderDeadLetters($("dead-letters"), page) },
  { target: "runs-panel", path: () => "/api/admin/maintenance-runs", render: (page) => renderRuns($("runs"), page) },
  {
    target: "alerts-panel",
    path: () => "/api/admin/alerts",
    render: (report) => renderAlerts({ rules: $("alert-rules"), incidents: $("incidents"), evaluated: $("alerts-evaluated") }, report),
  },
  {
    target: "traces-panel",
    path: (minutes) => `/api/admin/traces?window=${minutes}&limit=20`,
    render: (page) => renderTraces($("traces"), page),
  },
];

async function load(panel, minutes) {
  const status = $(panel.target).querySelector(".status");
  try {
    panel.render(await call("GET", panel.path(minutes)));
    status.replaceChildren();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (panel.shaped?.includes(error.status) && error.body) {
      panel.render(error.body);
      status.replaceChildren();
    } else note(status, `Could not load this panel: ${error.message}${error.status ? ` (HTTP ${error.status})` : ""}.`, "note bad");
  }
}

async function refresh() {
  clearTimeout(timer);
  const minutes = Number($("window").value);
  const loaded = await Promise.allSettled(PANELS.map((panel) => load(panel, minutes)));
  for (const failed of loaded.filter((result) => result.status === "rejected")) reportError(failed.reason); // a bug: to the console

  $("updated").textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
  const seconds = Number($("interval").value);
  clearTimeout(timer); // a refresh that ran meanwhile (a click, a new window) set one too
  if (seconds && !$("dashboard").hidden) timer = setTimeout(refresh, seconds * 1000);
}

const REFUSALS = { 401: "Wrong email or password.", 429: "Too many failed sign-ins for this email; try again later." };

function say(text) {
  $("sign-in-error").textContent = text;
  $("sign-in-error").hidden = !text;
}

async function submitted(event) {
  event.preventDefault();
  const form = event.target;
  performance.mark("sign-in");
  $("sign-in-button").disabled = true;
  say("");
  try {
    await signIn(form.email.value, form.password.value);
    const me = await call("GET", "/api/users/me");
    $("who").textContent = me.email;
    if (me.role !== "admin") return show("admins-only");
    show("dashboard");
    await refresh();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(REFUSALS[error.status] ?? `Sign-in failed: ${error.message}.`);
  } finally {
    form.password.value = "";
    $("sign-in-button").disabled = false;
  }
}

async function signedOut() {
  clearTimeout(timer);
  await signOut();
  location.reload(); // nothing of the session or its data stays on the page
}

whenSignedOut(() => {
  clearTimeout(timer);
  show("sign-in");
  say("The session has ended; sign in again.");
});
$("sign-in-form").addEventListener("submit", submitted);
$("sign-out").addEventListener("click", signedOut);
$("window").addEventListener("change", refresh);
$("interval").addEventListener("change", refresh);
$("refresh-now").addEventListener("click", refresh);
addEventListener("resize", () => resizeCharts(figures));
show("sign-in");
