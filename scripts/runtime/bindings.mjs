// Makes miniflare's bindings look to Python the way workerd's do.
//
// The `workers` SDK decides how to wrap a binding by its JS constructor name
// (KvNamespace, D1Database, WorkerQueue, Fetcher, Ratelimit). Miniflare hands Node
// proxies with no such names, and its Request/Response come from its own copy of
// undici, so bodies crossing between the two fetch implementations are rebuilt here.
//
// Each binding reaches Python as a plain object holding only the methods workerd's
// binding has. Miniflare's proxies answer every property read with a synchronous round
// trip to workerd (about 2 ms each), and Pyodide probes many (`then`, `next`, `get`,
// `has`, `includes`...) whenever such an object crosses into Python.
import { Request as MfRequest, Response as MfResponse } from "miniflare";

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
  D1Database: ["prepare", "batch", "exec", "dump"],
  WorkerQueue: ["send", "sendBatch"],
  Ratelimit: ["limit"],
};
const STATEMENT_METHODS = ["first", "all", "run", "raw"];

/** The miniflare object behind each facade, for calls that take facades back (D1's batch). */
const INNER = new WeakMap();

/** A plain object named `name` whose `methods` call the same methods of `target`. */
function facade(name, target, methods, overrides = {}) {
  const Named = { [name]: class {} }[name];
  const object = new Named();
  for (const method of methods) object[method] = (...args) => target[method](...args);
  Object.assign(object, overrides);
  INNER.set(object, target);
  return object;
}

/** A D1 call that first asks `check` (the runtime's injected faults) whether the database is up. */
const guarded = (check, call) => async (...args) => {
  check();
  return call(...args);
};

function statement(target, check) {
  const calls = Object.fromEntries(STATEMENT_METHODS.map((m) => [m, guarded(check, (...a) => target[m](...a))]));
  return facade("D1PreparedStatement", target, [], { ...calls, bind: (...values) => statement(target.bind(...values), check) });
}

function binding(name, target, check) {
  if (name !== "D1Database") return facade(name, target, BINDING_METHODS[name]);
  return facade(name, target, BINDING_METHODS[name], {
    prepare: (sql) => statement(target.prepare(sql), check),
    batch: guarded(check, (statements) => target.batch(Array.from(statements, (s) => INNER.get(s) ?? s))),
    exec: guarded(check, (sql) => target.exec(sql)),
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

/** A service binding whose fetch takes and returns Node's Request/Response, like workerd's Fetcher. */
export function fetcher(service, checkReachable) {
  const impl = {
    async fetch(input, init) {
      checkReachable();
      const request = new Request(input, init);
      const outgoing = new MfRequest(request.url, {
        method: request.method,
        headers: [...request.headers],
        body: await bodyOf(request),
      });
      const response = await service.fetch(outgoing);
      return new Response(await responseBody(response), {
        status: response.status,
        statusText: response.statusText,
        headers: [...response.headers],
      });
    },
  };
  return facade("Fetcher", impl, ["fetch"]);
}

/**
 * The env a Python worker sees: its vars as strings and its bindings under workerd's
 * class names. `mfBindings` comes from `Miniflare.getBindings(worker)`; `faults` are the
 * runtime's injected faults (scripts/runtime/faults.mjs), checked on D1 and service calls.
 */
export function pythonEnv(spec, mfBindings, faults) {
  const { workerOptions } = spec;
  const env = { ...workerOptions.bindings };
  const wrap = (names, make) => {
    for (const [name, target] of Object.entries(names ?? {})) env[name] = make(mfBindings[name], target);
  };
  const d1Check = () => faults.checkD1(spec.name);
  wrap(workerOptions.kvNamespaces, (b) => binding("KvNamespace", b));
  wrap(workerOptions.d1Databases, (b) => binding("D1Database", b, d1Check));
  wrap(workerOptions.queueProducers, (b) => binding("WorkerQueue", b));
  wrap(workerOptions.ratelimits, (b) => binding("Ratelimit", b));
  wrap(workerOptions.serviceBindings, (b, target) => fetcher(b, () => faults.checkReachable(serviceName(target))));
  return env;
}

/** The worker a service binding points at (`{ name }` or a bare name in miniflare's options). */
const serviceName = (target) => (typeof target === "string" ? target : target?.name);
