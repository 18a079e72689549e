// Makes miniflare's bindings look to Python the way workerd's do.
//
// Analytics Engine datasets are the exception: miniflare drops their points, so they are
// the runtime's own store (analytics.mjs), called in this process.
//
// The `workers` SDK decides how to wrap a binding by its JS constructor name
// (KvNamespace, D1Database, WorkerQueue, Fetcher, Ratelimit, WorkflowImpl). Each binding reaches
// Python as a plain object of that name holding only the methods workerd's binding
// has; each call runs in the worker's shim, on miniflare's real binding, over the
// binding channel (channel.mjs). Service bindings call the target Python worker in
// this process, as workerd calls a worker on the same machine.
import { Response as MfResponse } from "miniflare";
import { awaited, tally } from "./meter.mjs";
import { workflowBinding } from "./workflows.mjs";

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Proxy `target` so that `constructor.name` is `name`, methods stay bound and `overrides` win. */
export function brand(name, target, overrides = {}) {
  const Named = { [name]: class {} }[name];
  return new Proxy(target, {
    get(inner, prop) {
      if (prop === "constructor") return Named;
      if (Object.hasOwn(overrides, prop)) return overrides[prop];
      const value = inner[prop];
      return typeof value === "function" ? value.bind(inner) : value;
    },
  });
}

/** The methods of workerd's bindings, by class name: all that Python may call. */
const BINDING_METHODS = {
  KvNamespace: ["get", "getWithMetadata", "put", "list", "delete"],
  D1Database: ["batch", "exec", "dump"],
  WorkerQueue: ["send", "sendBatch"],
  Ratelimit: ["limit"],
};

/** One class per name, made once: a class made per call (a D1 statement is two) costs V8 far more. */
const NAMED = new Map();

/** A plain object named `name` with `methods`. */
export function facade(name, methods) {
  let Named = NAMED.get(name);
  if (!Named) NAMED.set(name, (Named = { [name]: class {} }[name]));
  return Object.assign(new Named(), methods);
}

/** The billable units of one binding call, from its kind, method, arguments and answer. */
const UNITS = {
  KvNamespace: (method) => ({ get: { kv_reads: 1 }, getWithMetadata: { kv_reads: 1 }, put: { kv_writes: 1 }, delete: { kv_deletes: 1 }, list: { kv_lists: 1 } })[method],
  WorkerQueue: (method, args) => ({ queue_messages: method === "sendBatch" ? Array.from(args[0] ?? []).length : 1 }),
  D1PreparedStatement: (method, args, answer) => d1Units([answer]),
  D1Database: (method, args, answer) => (method === "batch" ? d1Units(Array.from(answer ?? [])) : { d1_queries: 1 }),
};

function d1Units(results) {
  const units = { d1_queries: 0, d1_rows_read: 0, d1_rows_written: 0 };
  for (const result of results) {
    units.d1_queries += 1;
    units.d1_rows_read += Number(result?.meta?.rows_read ?? 0);
    units.d1_rows_written += Number(result?.meta?.rows_written ?? 0);
  }
  return units;
}

/** One binding call run in the shim over `channel`, after `check` (injected faults); its units tallied. */
function callRemote(channel, binding, method, args, check, statement, kind) {
  check();
  return awaited(() => channel.call(binding, method, args, statement)).then((answer) => {
    const units = UNITS[kind]?.(method, args, answer);
    if (units) tally(units);
    return answer;
  });
}

/** `names` as methods that run `binding`'s methods in the shim. */
function remote(channel, binding, names, check = () => {}, kind = undefined) {
  const call = (method) => (...args) => callRemote(channel, binding, method, args, check, undefined, kind);
  return Object.fromEntries(names.map((method) => [method, call(method)]));
}

/**
 * A D1 statement: its SQL and parameters, run in the shim. A class (its methods shared),
 * since Python makes two per query (`prepare`, then `bind`).
 */
class D1PreparedStatement {
  #channel;
  #binding;
  #check;
  #statement;

  constructor(channel, binding, check, sql, params) {
    this.#channel = channel;
    this.#binding = binding;
    this.#check = check;
    this.#statement = { sql, params };
  }

  /** The `{sql, params}` of `statement`, for D1's batch, which takes statements back. */
  static parts(statement) {
    return statement.#statement;
  }

  bind(...values) {
    return new D1PreparedStatement(this.#channel, this.#binding, this.#check, this.#statement.sql, values);
  }

  #run(method, args) {
    return callRemote(this.#channel, this.#binding, method, args, this.#check, this.#statement, "D1PreparedStatement");
  }

  first(...args) {
    return this.#run("first", args);
  }

  all(...args) {
    return this.#run("all", args);
  }

  run(...args) {
    return this.#run("run", args);
  }

  raw(...args) {
    return this.#run("raw", args);
  }
}

function d1Facade(channel, binding, check) {
  const methods = remote(channel, binding, BINDING_METHODS.D1Database, check, "D1Database");
  const batch = methods.batch;
  return facade("D1Database", {
    ...methods,
    prepare: (sql) => new D1PreparedStatement(channel, binding, check, sql, []),
    batch: (statements) => batch(Array.from(statements, D1PreparedStatement.parts)),
  });
}

/** Methods the Fetch standard forbids in a Request; workerd serves them, so they still reach Python. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const BODYLESS_METHODS = new Set(["GET", "HEAD"]);

async function bodyOf(message, method = message.method) {
  if (BODYLESS_METHODS.has(method.toUpperCase())) return undefined;
  const bytes = await message.arrayBuffer();
  return bytes.byteLength ? bytes : undefined;
}

/**
 * A Node Request whose `method` is exactly `method`. For a method undici refuses, a POST
 * stands in and only its `method` is replaced, so the worker sees what the client sent.
 */
function requestWithMethod(url, method, init) {
  if (!FORBIDDEN_METHODS.has(method.toUpperCase())) return new Request(url, { ...init, method });
  return brand("Request", new Request(url, { ...init, method: "POST" }), { method });
}

async function responseBody(response) {
  return NULL_BODY_STATUSES.has(response.status) ? null : await response.arrayBuffer();
}

/**
 * A bridged miniflare Request as one of Node's own, which is what Python's `js.Request` is.
 * The client's method comes from `methodHeader` (the hop itself is a POST); `dropHeaders`
 * are the bridge's own headers, which the worker must not see.
 */
export async function toNodeRequest(request, methodHeader, dropHeaders = []) {
  const method = request.headers.get(methodHeader) ?? request.method;
  const headers = new Headers([...request.headers]);
  for (const name of [methodHeader, ...dropHeaders]) headers.delete(name);
  return requestWithMethod(request.url, method, { headers, body: await bodyOf(request, method) });
}

/** Node's Response (what Python returns) as miniflare's, for a function service binding. */
export async function toMiniflareResponse(response) {
  return new MfResponse(await responseBody(response), {
    status: response.status,
    statusText: response.statusText,
    headers: [...response.headers],
  });
}

/** A service binding: `serve(request)` runs the target worker here; `check` (injected faults) comes first. */
function serviceFacade(serve, check) {
  return facade("Fetcher", {
    fetch: (input, init) => {
      check();
      tally({ subrequests: 1 });
      return awaited(() => serve(new Request(input, init)));
    },
  });
}

/** A miniflare Response (from a binding's Node proxy) as one of Node's own, which is what Python reads. */
async function toNodeResponse(response) {
  return new Response(await responseBody(response), { status: response.status, headers: [...response.headers] });
}

/**
 * The static assets binding: miniflare's asset server for the worker's `[assets]`, through
 * its Node proxy (`fetcher`; one loopback request per call, fine for a page). Without one
 * (the benchmark starts no asset server) a call fails, and says so.
 */
function assetsFacade(name, fetcher) {
  return facade("Fetcher", {
    fetch: (input, init) => {
      if (!fetcher) return Promise.reject(new Error(`${name}: no asset server in this system`));
      return awaited(() => fetcher.fetch(input, init).then(toNodeResponse));
    },
  });
}

/**
 * The env a Python worker sees: its vars as strings and its bindings under workerd's
 * class names. `channel` is its shim's binding channel; `serve(worker, request)` runs
 * the named worker's fetch; `faults` are the runtime's injected faults
 * (scripts/runtime/faults.mjs), checked on D1 and service calls; `assets` is miniflare's
 * binding to the worker's static assets, when it has them; `analytics` keeps the data
 * points of the worker's Analytics Engine datasets (analytics.mjs); `unlimited` makes every
 * rate-limiting binding allow everything (scripts/dev --rate-limit off).
 */
export function pythonEnv(spec, { channel, serve, faults, analytics, assets = undefined, unlimited = false }) {
  const { workerOptions } = spec;
  const env = { ...workerOptions.bindings };
  const wrap = (names, make) => {
    for (const [name, target] of Object.entries(names ?? {})) env[name] = make(name, target);
  };
  const d1Check = () => faults.checkD1(spec.name);
  const plain = (kind) => (name) => facade(kind, remote(channel, name, BINDING_METHODS[kind], undefined, kind));
  wrap(workerOptions.kvNamespaces, plain("KvNamespace"));
  wrap(workerOptions.d1Databases, (name) => d1Facade(channel, name, d1Check));
  wrap(workerOptions.queueProducers, plain("WorkerQueue"));
  wrap(workerOptions.ratelimits, unlimited ? () => facade("Ratelimit", { limit: async () => ({ success: true }) }) : plain("Ratelimit"));
  wrap(workerOptions.workflows, (name) => workflowBinding(channel, name, facade));
  wrap(workerOptions.analyticsEngineDatasets, (name, target) => analytics.binding(target?.dataset ?? name, facade));
  wrap(workerOptions.serviceBindings, (name, target) => {
    const worker = serviceName(target);
    return serviceFacade((request) => serve(worker, request), () => faults.checkReachable(worker));
  });
  const assetsBinding = workerOptions.assets?.binding;
  if (assetsBinding) env[assetsBinding] = assetsFacade(assetsBinding, assets);
  return env;
}

/** The worker a service binding points at (`{ name }` or a bare name in miniflare's options). */
const serviceName = (target) => (typeof target === "string" ? target : target?.name);
