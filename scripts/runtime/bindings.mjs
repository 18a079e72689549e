// Makes miniflare's bindings look to Python the way workerd's do.
//
// The `workers` SDK decides how to wrap a binding by its JS constructor name
// (KvNamespace, D1Database, WorkerQueue, Fetcher, Ratelimit). Miniflare hands Node
// proxies with no such names, and its Request/Response come from its own copy of
// undici, so bodies crossing between the two fetch implementations are rebuilt here.
import { Request as MfRequest, Response as MfResponse } from "miniflare";

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Proxy `target` so that `constructor.name` is `name` and methods stay bound. */
export function brand(name, target) {
  const Named = { [name]: class {} }[name];
  return new Proxy(target, {
    get(inner, prop) {
      if (prop === "constructor") return Named;
      const value = inner[prop];
      return typeof value === "function" ? value.bind(inner) : value;
    },
  });
}

async function bodyOf(message) {
  if (message.method === "GET" || message.method === "HEAD") return undefined;
  const bytes = await message.arrayBuffer();
  return bytes.byteLength ? bytes : undefined;
}

async function responseBody(response) {
  return NULL_BODY_STATUSES.has(response.status) ? null : await response.arrayBuffer();
}

/** A miniflare Request as one of Node's own, which is what Python's `js.Request` is. */
export async function toNodeRequest(request, dropHeaders = []) {
  const headers = new Headers([...request.headers]);
  for (const name of dropHeaders) headers.delete(name);
  return new Request(request.url, { method: request.method, headers, body: await bodyOf(request) });
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
export function fetcher(binding) {
  return brand("Fetcher", {
    async fetch(input, init) {
      const request = new Request(input, init);
      const outgoing = new MfRequest(request.url, {
        method: request.method,
        headers: [...request.headers],
        body: await bodyOf(request),
      });
      const response = await binding.fetch(outgoing);
      return new Response(await responseBody(response), {
        status: response.status,
        statusText: response.statusText,
        headers: [...response.headers],
      });
    },
  });
}

/**
 * The env a Python worker sees: its vars as strings and its bindings under workerd's
 * class names. `mfBindings` comes from `Miniflare.getBindings(worker)`.
 */
export function pythonEnv(workerOptions, mfBindings) {
  const env = { ...workerOptions.bindings };
  const wrap = (names, make) => {
    for (const name of Object.keys(names ?? {})) env[name] = make(mfBindings[name]);
  };
  wrap(workerOptions.kvNamespaces, (b) => brand("KvNamespace", b));
  wrap(workerOptions.d1Databases, (b) => brand("D1Database", b));
  wrap(workerOptions.queueProducers, (b) => brand("WorkerQueue", b));
  wrap(workerOptions.ratelimits, (b) => brand("Ratelimit", b));
  wrap(workerOptions.serviceBindings, fetcher);
  return env;
}
