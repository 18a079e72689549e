// The benchmark's system: the runtime's own pieces (PythonWorker, pythonEnv, the binding
// channel, the shims, the metering), wired so that every interpreter can be measured alone.
//
// Four groups of workers run side by side on the same miniflare bindings (same KV, D1,
// queues, rate limiter): ours (the real entry modules), ours with `TELEMETRY=off` (the
// baseline of telemetry's overhead), the same routes in FastAPI (benchmarks/fastapi_app),
// and the floor (benchmarks/floor). A gateway's service binding
// calls the target interpreter of its own group in this process, with no HTTP hop, so each
// worker's CPU is counted apart (scripts/runtime/meter.mjs). Interpreters are started one
// at a time, so each import is timed on a quiet machine.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { AnalyticsStore } from "../scripts/runtime/analytics.mjs";
import { pythonEnv } from "../scripts/runtime/bindings.mjs";
import { BindingChannel } from "../scripts/runtime/channel.mjs";
import { CONFIG_PATHS, collectModules, readWorker } from "../scripts/runtime/config.mjs";
import { Faults } from "../scripts/runtime/faults.mjs";
import { awaited, metered } from "../scripts/runtime/meter.mjs";
import { applyMigrations } from "../scripts/runtime/migrations.mjs";
import { PythonWorker } from "../scripts/runtime/pyworker.mjs";
import { miniflareOptions } from "../scripts/runtime/system.mjs";

const HERE = path.dirname(new URL(import.meta.url).pathname);
/** The shims are plain JS; any date this workerd knows will do (as in scripts/runtime/system.mjs). */
const FASTAPI_MAINS = { gateway: "gateway_app.py", users: "users_app.py", orders: "orders_app.py" };
/** What each group imports before its main module, in this order, to price each import apart. */
const IMPORTS = { ours: ["pydantic", "workers"], bare: ["pydantic", "workers"], fastapi: ["pydantic", "workers", "fastapi"], floor: ["workers"] };
/** The vars that make a group what it is: `bare` is ours with telemetry off. */
const GROUP_VARS = { bare: { TELEMETRY: "off" } };

const ms = (since) => performance.now() - since;

/** WebCrypto time per request: awaited (so not the worker's CPU here) but summed apart, since on Cloudflare it runs on the isolate's thread. */
export const webcrypto = { ms: 0 };

function meterWebCrypto() {
  const subtle = globalThis.crypto.subtle;
  for (const name of ["importKey", "deriveBits"]) {
    const original = subtle[name].bind(subtle);
    subtle[name] = (...args) => {
      const started = performance.now();
      return awaited(() => original(...args)).finally(() => (webcrypto.ms += ms(started)));
    };
  }
}

/** One interpreter of the benchmark: its worker, group, role (gateway/users/orders/floor), cold start and counters. */
class BenchWorker {
  constructor(group, role, worker) {
    this.group = group;
    this.role = role;
    this.worker = worker;
    this.label = group === "ours" || group === "floor" ? role : `${group}_${role}`;
    this.served = 0;
    this.cold = null;
    this.samples = {};
  }

  heapMb() {
    return this.worker.py._module.HEAP8.buffer.byteLength / 2 ** 20;
  }

  /** GC-tracked Python objects after a full collection (sys.getallocatedblocks() is 0 in Pyodide 314). */
  pythonObjects() {
    return this.worker.py.runPython("import gc; gc.collect(); len(gc.get_objects())");
  }

  sample(name) {
    this.samples[name] = { heap_mb: this.heapMb(), objects: this.pythonObjects(), served: this.served };
  }
}

/** Starts `worker`, timing the interpreter, then each of `imports`, then the main module (the rest). */
async function startTimed(worker, imports) {
  const started = performance.now();
  const cold = { imports_ms: {} };
  let mainStarted = 0;
  worker.beforeImport = (py) => {
    cold.interpreter_ms = ms(started);
    for (const name of imports) {
      const since = performance.now();
      py.runPython(`import ${name}`);
      cold.imports_ms[name] = ms(since);
    }
    mainStarted = performance.now();
  };
  await worker.start();
  cold.imports_ms.ours = ms(mainStarted);
  cold.total_ms = Object.values(cold.imports_ms).reduce((a, b) => a + b, 0);
  return cold;
}

/** The FastAPI worker of `spec`'s role: our upload (services, contracts, adapters) without our entry, plus the FastAPI app. */
function fastapiWorker(spec, wheelsDir, log) {
  const dir = path.join(HERE, "fastapi_app");
  const modules = collectModules(spec);
  delete modules[path.basename(spec.mainPath)];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".py"))) modules[file] = fs.readFileSync(path.join(dir, file));
  const fastapiSpec = { ...spec, mainPath: path.join(dir, FASTAPI_MAINS[spec.alias]) };
  const extraWheelsDirs = [path.join(wheelsDir, `${spec.release.pyodide}-fastapi`)];
  return new PythonWorker(fastapiSpec, { wheelsDir, modules, log, extraWheelsDirs });
}

function floorWorker(spec, wheelsDir, log) {
  const mainPath = path.join(HERE, "floor", "entry.py");
  return new PythonWorker({ ...spec, mainPath }, { wheelsDir, modules: { "entry.py": fs.readFileSync(mainPath) }, log });
}

/** Miniflare with one shim per worker config, as the runtime has, minus what the benchmark must not run meanwhile (queue consumers). */
function miniflare(specs, token, state) {
  const refuse = () => () => new Response("no events in the benchmark", { status: 503 });
  return new Miniflare(miniflareOptions({ host: "127.0.0.1", port: 0, stateDir: state, specs, token, bridge: refuse, overrides: { queueConsumers: undefined } }));
}

/**
 * Starts everything. `vars` override the configs' vars; `log` gets each error line a
 * worker prints. Returns `{groups: {ours, fastapi, floor}: Map<role, BenchWorker>, run, channels, stop}`.
 */
export async function startBench({ root, vars, log }) {
  meterWebCrypto();
  const wheelsDir = path.join(root, ".cache", "pyodide-wheels");
  const specs = CONFIG_PATHS.map((p) => readWorker(root, p, vars));
  const state = fs.mkdtempSync(path.join(os.tmpdir(), "pyodide-bench-"));
  const token = BindingChannel.token();
  const mf = miniflare(specs, token, state);
  // Our workers print a JSON line per request: only their errors, and anything else printed (tracebacks), are shown.
  const workerLog = (line) => (!line.startsWith("{") || line.includes('"level":"error"')) && log(line);
  const plan = [
    ...specs.map((spec) => ["ours", spec, new PythonWorker(spec, { wheelsDir, modules: collectModules(spec), log: workerLog })]),
    ...specs.map((spec) => ["bare", spec, new PythonWorker(spec, { wheelsDir, modules: collectModules(spec), log: workerLog })]),
    ...specs.map((spec) => ["fastapi", spec, fastapiWorker(spec, wheelsDir, workerLog)]),
    ["floor", specs[0], floorWorker(specs[0], wheelsDir, workerLog)],
  ];
  try {
    await mf.ready;
    const groups = { ours: new Map(), bare: new Map(), fastapi: new Map(), floor: new Map() };
    for (const [group, spec, worker] of plan) {
      const bench = new BenchWorker(group, group === "floor" ? "floor" : spec.alias, worker);
      bench.cold = await startTimed(worker, IMPORTS[group]);
      bench.cold.heap_after_start_mb = bench.heapMb();
      groups[group].set(bench.role, bench);
    }
    const channels = new Map();
    const faults = new Faults();
    const analytics = new AnalyticsStore(path.join(state, "analytics"));
    const noService = () => Promise.reject(new Error("no service calls while migrating"));
    for (const spec of specs) {
      channels.set(spec.name, await BindingChannel.open(mf, spec.name, token));
      await applyMigrations(spec, pythonEnv(spec, { channel: channels.get(spec.name), serve: noService, faults, analytics }), () => {});
    }
    const run = runner();
    for (const [group, spec, worker] of plan) {
      const members = groups[group];
      const serve = (name, request) => run(members.get(specs.find((s) => s.name === name).alias), request);
      worker.env = { ...pythonEnv(spec, { channel: channels.get(spec.name), serve, faults, analytics }), ...GROUP_VARS[group] };
    }
    const stop = async () => {
      analytics.flush();
      await mf.dispose();
      fs.rmSync(state, { recursive: true, force: true });
    };
    return { groups, run, channels, specs, analytics, runtime: plan[0][2].runtimeInfo(), stop };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
}

/**
 * `run(bench, request, usage?, units?)`: one request to one interpreter, its CPU (wall time
 * minus awaited binding calls) added to `usage` and the billable units of its binding
 * calls to `units`, both keyed by role; without them (a service binding's call), to those
 * of the request it belongs to. Memory
 * samples fall due as a worker's count crosses a milestone; `sampleDue()` takes them
 * between top-level requests, so no sample lands inside a measured one.
 */
function runner() {
  const due = new Set();
  const run = (bench, request, usage = undefined, units = undefined) =>
    metered(bench.role, () => bench.worker.fetch(request), usage, units).finally(() => {
      bench.served += 1;
      if (run.milestones.includes(bench.served)) due.add(bench);
    });
  run.milestones = [];
  run.sampleDue = () => {
    for (const bench of due) bench.sample(`after_${bench.served}`);
    due.clear();
  };
  return run;
}

/** One measured top-level request: its response, the CPU and billable units per role, and the WebCrypto time inside it. */
export async function measure(run, bench, request) {
  const usage = {};
  const units = {};
  webcrypto.ms = 0;
  const response = await run(bench, request, usage, units);
  run.sampleDue();
  return { response, usage, units, webcryptoMs: webcrypto.ms };
}
