// The whole system offline: miniflare with one shim worker per Python worker, real
// KV/D1/Queues/rate limits from the wrangler configs, and one Pyodide interpreter per
// worker behind the shims. Only the gateway listens on a port.
import path from "node:path";
import { Miniflare } from "miniflare";
import { pythonEnv, toMiniflareResponse, toNodeRequest } from "./bindings.mjs";
import { CONFIG_PATHS, collectModules, readWorker } from "./config.mjs";
import { applyMigrations } from "./migrations.mjs";
import { PythonWorker } from "./pyworker.mjs";
import { QueueBatch } from "./queues.mjs";
import { BRIDGE, EVENT_HEADER, SHIM_SOURCE } from "./shim.mjs";

/** Shims are plain JS: any date this workerd knows will do; the Python code's date is in its config. */
const SHIM_COMPAT_DATE = "2026-04-01";
const SCHEDULED_DOOR = "/cdn-cgi/handler/scheduled";

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/**
 * @param {{root: string, port: number, host?: string, persistTo: string, vars: object, wheelsDir: string, log: Function}} options
 */
export async function startSystem({ root, port, host = "127.0.0.1", persistTo, vars, wheelsDir, log }) {
  const specs = CONFIG_PATHS.map((p) => readWorker(root, p, vars));
  const python = new Map();
  let mf;

  const bridgeFor = (spec) => async (mfRequest) => {
    const worker = python.get(spec.name);
    if (!worker) return toMiniflareResponse(json(503, { error: `${spec.name} is still starting` }));
    const event = mfRequest.headers.get(EVENT_HEADER);
    if (event === "fetch") {
      const url = new URL(mfRequest.url);
      if (spec === specs[0] && url.pathname === SCHEDULED_DOOR) return toMiniflareResponse(await runScheduled(url));
      const started = performance.now();
      const response = await guard(spec, async () => worker.fetch(await toNodeRequest(mfRequest, [EVENT_HEADER])));
      if (spec === specs[0]) accessLog(mfRequest, url, response, started);
      return toMiniflareResponse(response);
    }
    const payload = await mfRequest.json();
    if (event === "queue") return toMiniflareResponse(await runQueue(worker, payload));
    await worker.scheduled({ cron: payload.cron, scheduledTime: payload.scheduledTime, type: "scheduled", noRetry() {} });
    return toMiniflareResponse(json(200, {}));
  };

  function accessLog(request, url, response, started) {
    log(JSON.stringify({
      source: "local-runtime",
      request_id: response.headers.get("x-request-id"),
      method: request.method,
      path: url.pathname,
      status: response.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    }));
  }

  /** An uncaught Python exception is a 500 with its traceback in the log, as workerd does. */
  async function guard(spec, run) {
    try {
      return await run();
    } catch (error) {
      log(JSON.stringify({ level: "error", worker: spec.name, message: "uncaught exception", error: String(error?.message ?? error) }));
      return new Response("Internal Server Error", { status: 500 });
    }
  }

  async function runQueue(worker, payload) {
    const batch = new QueueBatch(payload);
    try {
      await worker.queue(batch);
      return json(200, { decisions: batch.decisions() });
    } catch (error) {
      return json(200, { decisions: batch.decisions({ failed: true }), error: String(error?.message ?? error) });
    }
  }

  /** The loopback door `POST /cdn-cgi/handler/scheduled?worker=users&cron=...`. */
  async function runScheduled(url) {
    const spec = specs.find((s) => s.alias === url.searchParams.get("worker") || s.name === url.searchParams.get("worker"));
    if (!spec || !spec.crons.length) return json(404, { error: "worker has no cron triggers", workers: specs.filter((s) => s.crons.length).map((s) => s.alias) });
    const cron = url.searchParams.get("cron") ?? spec.crons[0];
    const result = await (await mf.getWorker(spec.name)).scheduled({ cron, scheduledTime: new Date() });
    return json(result.outcome === "ok" ? 200 : 500, { worker: spec.alias, cron, outcome: result.outcome });
  }

  const state = (kind) => path.join(persistTo, "v3", kind);
  mf = new Miniflare({
    host,
    port,
    kvPersist: state("kv"),
    d1Persist: state("d1"),
    cachePersist: state("cache"),
    durableObjectsPersist: state("do"),
    workers: specs.map((spec) => ({
      ...spec.workerOptions,
      name: spec.name,
      modules: true,
      script: SHIM_SOURCE,
      modulesRules: undefined,
      compatibilityDate: SHIM_COMPAT_DATE,
      compatibilityFlags: [],
      serviceBindings: { ...spec.workerOptions.serviceBindings, [BRIDGE]: bridgeFor(spec) },
    })),
  });
  const url = await mf.ready;

  for (const spec of specs) {
    const mfBindings = await mf.getBindings(spec.name);
    await applyMigrations(spec, mfBindings, log);
    const worker = new PythonWorker(spec, { wheelsDir, modules: collectModules(spec), log });
    worker.env = pythonEnv(spec.workerOptions, mfBindings);
    python.set(spec.name, await worker.start());
  }

  return {
    url: `http://${host}:${url.port}`,
    specs,
    runtime: python.get(specs[0].name).runtimeInfo(),
    stop: () => mf.dispose(),
  };
}
