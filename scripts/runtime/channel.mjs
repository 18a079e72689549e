// The binding channel: one WebSocket from Node to each worker's shim, over which the
// Python worker's binding calls run inside workerd, on the shim's own env.
//
// Why: miniflare's Node proxies for bindings cost a loopback HTTP request per call,
// and a synchronous, event-loop-blocking one for `prepare`/`bind` (a D1 query took
// about 30 ms, a KV get about 8 ms). Over the channel a call is one message each way,
// and the bindings are miniflare's real ones, called where they live.
//
// The wire format is JSON; bytes (ArrayBuffer, typed arrays) travel as
// `{"$bytes": base64}`. The same two codec functions run on both ends: the shim's
// source embeds them by their text, so there is one copy.
import crypto from "node:crypto";

/** The shim opens its end on this path, asked by Node straight through `mf.getWorker(name)`. */
export const CHANNEL_PATH = "/__local-runtime/bindings";
export const CHANNEL_TOKEN_HEADER = "x-local-runtime-token";
/** The shim's env var holding the token: only Node, which made it, can open a channel. */
export const CHANNEL_TOKEN_VAR = "__LOCAL_RUNTIME_TOKEN";

/** JSON.stringify replacer: bytes as base64 (btoa exists in Node and in workerd). */
export function encodeValue(key, value) {
  const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : null;
  if (!bytes) return value;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return { $bytes: btoa(binary) };
}

/** JSON.parse reviver: the inverse of `encodeValue` (bytes come back as an ArrayBuffer). */
export function decodeValue(key, value) {
  if (value === null || typeof value !== "object" || typeof value.$bytes !== "string") return value;
  return Uint8Array.from(atob(value.$bytes), (c) => c.charCodeAt(0)).buffer;
}

/**
 * The shim's end, as source: `openChannel(request, env)` answers the upgrade and runs
 * each call `{id, binding, method, args, statement?, workflow?}` on `env[binding]`. A D1
 * call names its statement as `{sql, params}`; `batch` takes a list of them; a Workflow
 * binding's call goes through `workflowCall` (workflows.mjs).
 */
export const CHANNEL_SHIM_SOURCE = `
const CHANNEL_PATH = ${JSON.stringify(CHANNEL_PATH)};
const CHANNEL_TOKEN_HEADER = ${JSON.stringify(CHANNEL_TOKEN_HEADER)};
const CHANNEL_TOKEN_VAR = ${JSON.stringify(CHANNEL_TOKEN_VAR)};
${encodeValue.toString()}
${decodeValue.toString()}

function isChannel(request, env) {
  return new URL(request.url).pathname === CHANNEL_PATH
    && request.headers.get("upgrade") === "websocket"
    && request.headers.get(CHANNEL_TOKEN_HEADER) === env[CHANNEL_TOKEN_VAR];
}

const statementOf = (db, { sql, params }) => (params.length ? db.prepare(sql).bind(...params) : db.prepare(sql));

function perform(env, { binding, method, args, statement, workflow }) {
  const target = env[binding];
  if (workflow) return workflowCall(target, method, args);
  if (statement) return statementOf(target, statement)[method](...args);
  if (method === "batch") return target.batch(args[0].map((s) => statementOf(target, s)));
  return target[method](...args);
}

function openChannel(request, env) {
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.addEventListener("message", async (event) => {
    const call = JSON.parse(event.data, decodeValue);
    let answer;
    try {
      answer = { id: call.id, result: await perform(env, call) };
    } catch (error) {
      answer = { id: call.id, error: String(error?.message ?? error) };
    }
    server.send(JSON.stringify(answer, encodeValue));
  });
  return new Response(null, { status: 101, webSocket: client });
}
`;

/** Node's end of one shim's channel. */
export class BindingChannel {
  #socket;
  #pending = new Map();
  #ids = 0;

  constructor(socket) {
    this.#socket = socket;
    socket.addEventListener("message", (event) => this.#settle(JSON.parse(event.data, decodeValue)));
  }

  /** A fresh token for one runtime: the shims' env gets it, the public port never sees it. */
  static token() {
    return crypto.randomUUID();
  }

  /** Opens `worker`'s channel, past miniflare's router: only the gateway's shim is on the public port. */
  static async open(mf, worker, token) {
    const response = await (await mf.getWorker(worker)).fetch(`http://local-runtime.invalid${CHANNEL_PATH}`, {
      headers: { upgrade: "websocket", [CHANNEL_TOKEN_HEADER]: token },
    });
    if (!response.webSocket) throw new Error(`the shim of ${worker} refused its binding channel (${response.status})`);
    response.webSocket.accept();
    return new BindingChannel(response.webSocket);
  }

  /** Runs `binding.method(...args)` in the shim (on `statement`, for a D1 statement; `workflow` for a Workflow binding). */
  call(binding, method, args, statement, workflow = undefined) {
    const id = ++this.#ids;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, binding, method, args: [...args], statement, workflow }, encodeValue));
    });
  }

  #settle({ id, result, error }) {
    const call = this.#pending.get(id);
    this.#pending.delete(id);
    if (error === undefined) call.resolve(result);
    else call.reject(new Error(error));
  }
}
