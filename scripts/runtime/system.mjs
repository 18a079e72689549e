// The whole system offline: miniflare with one shim worker per Python worker, real
// KV/D1/Queues/Workflows/rate limits from the wrangler configs, and one Pyodide interpreter per
// worker behind the shims. Only the gateway listens on a port. A request's path:
// client -> gateway shim -> Node -> gateway's Python; its binding calls run in its shim
// over the binding channel; its service binding calls run the service's Python here.
//
// Start-up: the interpreters load while miniflare starts; every event the shims bridge
// waits for `ready` (all workers imported, all migrations applied), so nothing is
// answered before the system is whole, and nothing is refused for being early.
import path from "node:path";
import { Miniflare } from "miniflare";
import { AnalyticsStore, SQL_DOOR } from "./analytics.mjs";
import { pythonEnv, toMiniflareResponse, toNodeRequest } from "./bindings.mjs";
import { BytecodeCache } from "./bytecode.mjs";
import { BindingChannel, CHANNEL_TOKEN_VAR } from "./channel.mjs";
import { CONFIG_PATHS, collectModules, readWorker } from "./config.mjs";
import { FAULTS, FAULTS_DOOR, Faults } from "./faults.mjs";
import { metered } from "./meter.mjs";
import { applyMigrations } from "./migrations.mjs";
import { PythonWorker } from "./pyworker.mjs";
import { QueueBatch } from "./queues.mjs";
import { BRIDGE, EVENT_HEADER, METHOD_HEADER, shimSource } from "./shim.mjs";
import { WorkflowInstances, WorkflowRuns } from "./workflows.mjs";

/** Shims are plain JS: any date this workerd knows will do; the Python code's date is in its config. */
const SHIM_COMPAT_DATE = "2026-04-01";
/** wrangler 4.164's door for cron handlers, and the one older wranglers (and users' scripts) call. */
export const SCHEDULED_DOORS = ["/cdn-cgi/local/scheduled", "/cdn-cgi/handler/scheduled"];

/**
 * Miniflare with one shim per worker, on the worker's bindings, queues and triggers:
 * `bridge(spec)` answers the shim's events, `token` opens its binding channel, and
 * `overrides` replace any worker option (the benchmark runs no queue consumers).
 */
export function miniflareOptions({ host, port, stateDir, specs, token, bridge, overrides = {} }) {
  return {
    host,
    port,
    kvPersist: path.join(stateDir, "kv"),
    d1Persist: path.join(stateDir, "d1"),
    cachePersist: path.join(stateDir, "cache"),
    durableObjectsPersist: path.join(stateDir, "do"),
    workflowsPersist: path.join(stateDir, "workflows"),
    workers: specs.map((spec) => ({
      ...spec.workerOptions,
      name: spec.name,
      modules: true,
      script: shimSource(Object.values(spec.workerOptions.workflows ?? {}).map((w) => w.className)),
      modulesRules: undefined,
      compatibilityDate: SHIM_COMPAT_DATE,
      compatibilityFlags: [],
      bindings: { ...spec.workerOptions.bindings, [CHANNEL_TOKEN_VAR]: token },
      serviceBindings: { ...spec.workerOptions.serviceBindings, [BRIDGE]: bridge(spec) },
      ...overrides,
    })),
  };
}

/** The Python env's binding (a facade, bindings.mjs) of the workflow named `workflow` in `spec`'s config. */
function workflowBindingOf(env, spec, workflow) {
  const entry = Object.entries(spec?.workerOptions.workflows ?? {}).find(([, w]) => w.name === workflow);
  return entry && env?.[entry[0]];
}

/** Every rate-limiting binding allows `limit` requests per its configured period. */
function setRateLimits(specs, limit) {
  for (const spec of specs) {
    for (const binding of Object.values(spec.workerOptions.ratelimits ?? {})) binding.simple = { ...binding.simple, limit };
  }
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const message = (error) => String(error?.stack ?? error?.message ?? error);

/** The trace id in a `Server-Timing: traceparent;desc="00-<trace id>-..."` entry. */
const TRACE_ID = /traceparent;desc="?[0-9a-f]{2}-([0-9a-f]{32})-/;

/**
 * Where the gateway's GET /api/admin/metrics sends its SQL locally: this runtime's door
 * (analytics.mjs), unless the vars (or .dev.vars) name a real account and token.
 */
const localSqlApi = (origin) => ({
  ANALYTICS_SQL_API: `${origin}${SQL_DOOR}`,
  ANALYTICS_ACCOUNT_ID: "local",
  ANALYTICS_API_TOKEN: "local-runtime",
});

/**
 * The system on miniflare's own loopback port (`port` of the result; scripts/dev's public
 * port passes connections to it). `rateLimit` replaces the limit of every rate-limiting
 * binding for this run (a number per period, or "off"); undefined keeps the configs'.
 * @param {{root: string, persistTo: string, vars: object, rateLimit?: number|"off", wheelsDir: string, log: Function}} options
 */
export async function startSystem({ root, persistTo, vars, rateLimit, wheelsDir, log }) {
  const specs = CONFIG_PATHS.map((p) => readWorker(root, p, vars));
  if (typeof rateLimit === "number") setRateLimits(specs, rateLimit);
  const gateway = specs[0];
  const python = new Map();
  const faults = new Faults();
  let opened;
  const ready = new Promise((resolve) => (opened = resolve));
  let mf;

  /** One bridged event, whatever happens inside it: a failure fails this event only. */
  const bridgeFor = (spec) => async (mfRequest) => {
    await ready;
    try {
      return toMiniflareResponse(await dispatch(spec, python.get(spec.name), mfRequest));
    } catch (error) {
      log(JSON.stringify({ level: "error", source: "local-runtime", worker: spec.name, message: "bridge failed", error: message(error) }));
      return toMiniflareResponse(json(500, { error: "the local runtime failed to handle this event" }));
    }
  };

  async function dispatch(spec, worker, mfRequest) {
    const event = mfRequest.headers.get(EVENT_HEADER);
    if (event === "fetch") {
      const url = new URL(mfRequest.url);
      if (spec === gateway && SCHEDULED_DOORS.includes(url.pathname)) return runScheduled(url);
      if (spec === gateway && url.pathname === FAULTS_DOOR) return setFault(mfRequest.headers.get(METHOD_HEADER) ?? mfRequest.method, url);
      if (spec === gateway && url.pathname.startsWith(SQL_DOOR)) {
        const answer = await analytics.answer(await toNodeRequest(mfRequest, METHOD_HEADER, [EVENT_HEADER]), url);
        if (answer) return answer;
      }
      const started = performance.now();
      const request = await toNodeRequest(mfRequest, METHOD_HEADER, [EVENT_HEADER]);
      const usage = {};
      const response = await serveFetch(spec, request, usage);
      if (spec === gateway) accessLog(request, url, response, started, usage);
      return response;
    }
    const payload = await mfRequest.json();
    if (event === "workflow") return json(200, await workflows.handle(spec, worker, payload));
    if (event === "queue") return faults.take(spec.name, "kill-consumer") ? killMidBatch(spec, worker, payload) : runQueue(spec, worker, payload);
    await worker.scheduled({ cron: payload.cron, scheduledTime: payload.scheduledTime, type: "scheduled", noRetry() {} });
    return json(200, {});
  }

  /** One request to a worker, from the port or over a service binding, its Python time added to `usage`. */
  async function serveFetch(spec, request, usage) {
    const fault = faults.get(spec.name);
    if (fault === "fail") return new Response("Internal Server Error (injected fault)", { status: 500 });
    if (fault === "hang") await faults.untilCleared(spec.name);
    return metered(spec.alias, () => guard(spec, () => python.get(spec.name).fetch(request)), usage);
  }

  /** A service binding's call: the target worker, in this process. */
  function serve(name, request) {
    const spec = specs.find((s) => s.name === name);
    if (!spec) return Promise.reject(new Error(`no worker named ${name} in this system`));
    return serveFetch(spec, request);
  }

  function accessLog(request, url, response, started, usage) {
    log(JSON.stringify({
      source: "local-runtime",
      request_id: response.headers.get("x-request-id"),
      trace_id: TRACE_ID.exec(response.headers.get("server-timing") ?? "")?.[1] ?? null,
      method: request.method,
      path: url.pathname,
      status: response.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      python_ms: usage,
    }));
  }

  /** An uncaught Python exception is a 500 with its traceback in the log, as workerd does. */
  async function guard(spec, run) {
    try {
      return await run();
    } catch (error) {
      log(JSON.stringify({ level: "error", worker: spec.name, message: "uncaught exception", error: message(error) }));
      return new Response("Internal Server Error", { status: 500 });
    }
  }

  /** A consumer that throws fails its whole batch (retried by the queue) and logs an error, as workerd does. */
  async function runQueue(spec, worker, payload) {
    const batch = new QueueBatch(payload);
    try {
      await worker.queue(batch);
      return json(200, { decisions: batch.decisions() });
    } catch (error) {
      log(JSON.stringify({ level: "error", worker: spec.name, message: "queue consumer failed", queue: payload.queue, error: message(error) }));
      return json(200, { decisions: batch.decisions({ failed: true }), error: String(error?.message ?? error) });
    }
  }

  /**
   * The injected death of a consumer: the first half of the batch is handled (its effects
   * happen), then the invocation dies before any message is acked, so the queue
   * redelivers the whole batch, as it would after an isolate crash.
   */
  async function killMidBatch(spec, worker, payload) {
    const half = { ...payload, messages: payload.messages.slice(0, Math.ceil(payload.messages.length / 2)) };
    await worker.queue(new QueueBatch(half)).catch(() => {});
    log(JSON.stringify({ level: "info", source: "local-runtime", message: "consumer killed mid-batch (injected fault)", worker: spec.name, handled: half.messages.length, of: payload.messages.length }));
    return json(200, { decisions: [], error: "the consumer was killed mid-batch (injected fault)" });
  }

  /**
   * `POST /cdn-cgi/local/scheduled?worker=users&cron=...` runs that worker's scheduled()
   * handler. Without `worker`, every worker whose triggers list `cron` (all workers with
   * crons when `cron` is absent, each with its first cron) runs, one after the other.
   */
  async function runScheduled(url) {
    const name = url.searchParams.get("worker");
    const cron = url.searchParams.get("cron");
    const withCrons = specs.filter((s) => s.crons.length);
    const targets = name
      ? withCrons.filter((s) => s.alias === name || s.name === name)
      : withCrons.filter((s) => cron === null || s.crons.includes(cron));
    if (!targets.length) {
      return json(404, { error: "no worker with cron triggers matches", workers: withCrons.map((s) => ({ worker: s.alias, crons: s.crons })) });
    }
    const runs = [];
    for (const spec of targets) {
      const ran = cron ?? spec.crons[0];
      const result = await (await mf.getWorker(spec.name)).scheduled({ cron: ran, scheduledTime: new Date() });
      runs.push({ worker: spec.alias, cron: ran, outcome: result.outcome });
    }
    const ok = runs.every((run) => run.outcome === "ok");
    return json(ok ? 200 : 500, runs.length === 1 ? runs[0] : { runs });
  }

  /** The loopback door of scripts/runtime/faults.mjs; `method` is the client's (the hop to
   * the gateway is always a POST), so a GET only reads. */
  function setFault(method, url) {
    if (method === "POST") {
      const name = url.searchParams.get("worker");
      const spec = specs.find((s) => s.alias === name || s.name === name);
      const fault = url.searchParams.get("fault") ?? "none";
      const step = url.searchParams.get("step");
      const times = url.searchParams.get("times") ?? "1";
      const badStep = fault === "step-fails" && (!step || !/^(always|[1-9][0-9]*)$/.test(times));
      if (!spec || !FAULTS.includes(fault) || badStep) {
        return json(400, { error: "unknown worker or fault (step-fails needs step=NAME and times=N|always)", workers: specs.map((s) => s.alias), faults: FAULTS });
      }
      if (fault === "step-fails") faults.failStep(spec.name, step, times);
      else faults.set(spec.name, fault);
      log(JSON.stringify({ level: "info", source: "local-runtime", message: "fault injected", worker: spec.name, fault, ...(step ? { step, times } : {}) }));
    }
    return json(200, faults.snapshot());
  }

  const analytics = new AnalyticsStore(path.join(persistTo, "v3", "analytics"));
  const instances = new WorkflowInstances(path.join(persistTo, "v3", "workflows"));
  const workflows = new WorkflowRuns({ faults, instances, log });
  const token = BindingChannel.token();
  mf = new Miniflare(miniflareOptions({ host: "127.0.0.1", port: 0, stateDir: path.join(persistTo, "v3"), specs, token, bridge: bridgeFor }));

  try {
    const cache = path.join(root, ".cache");
    const workers = specs.map((spec) => new PythonWorker(spec, {
      wheelsDir,
      modules: collectModules(spec),
      log,
      bytecode: new BytecodeCache(path.join(cache, "pyodide-bytecode", spec.release.pyodide, spec.alias)),
      snapshotDir: path.join(cache, "pyodide-snapshot"),
    }));
    process.on("unhandledRejection", (error) => {
      if (error?.pyodide_fatal_error) for (const worker of workers) worker.recoverIfDead(error);
    });
    const [url] = await Promise.all([mf.ready, ...workers.map((worker) => worker.start())]);
    const sqlApi = { ...localSqlApi(`http://127.0.0.1:${url.port}`), ...gateway.workerOptions.bindings };
    Object.assign(gateway.workerOptions.bindings, sqlApi);
    for (const [index, spec] of specs.entries()) {
      const channel = await BindingChannel.open(mf, spec.name, token);
      const assetsBinding = spec.workerOptions.assets?.binding;
      const assets = assetsBinding ? (await mf.getBindings(spec.name))[assetsBinding] : undefined;
      const env = pythonEnv(spec, { channel, serve, faults, analytics, assets, unlimited: rateLimit === "off" });
      await applyMigrations(spec, env, log); // over the channel too: miniflare's proxies block on prepare
      workers[index].env = env;
      python.set(spec.name, workers[index]);
    }
    opened();
    await instances.wake((worker, workflow) => workflowBindingOf(python.get(worker)?.env, specs.find((s) => s.name === worker), workflow), log);
    return {
      port: Number(url.port),
      specs,
      runtime: { ...python.get(gateway.name).runtimeInfo(), pyodide: gateway.release.pyodide },
      stop: () => {
        analytics.flush();
        return mf.dispose();
      },
    };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
}
