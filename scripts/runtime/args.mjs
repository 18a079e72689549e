// `scripts/dev`'s command line: parsed and checked before anything starts, so a typo is
// one clear line (exit 2), never a stack trace or a half-started system.
import { parseArgs } from "node:util";

export const USAGE = `usage: scripts/dev [--port N] [--ip ADDRESS] [--var KEY:VALUE]... [--persist-to DIR]
                   [--rate-limit N|off] [--wheels DIR]

The whole system (gateway, users, orders) offline on http://127.0.0.1:8787, each worker
in the Pyodide release Cloudflare runs for its config, on miniflare's KV, D1 and Queues.

  --port N           the gateway's port (default 8787; 0 picks a free one)
  --ip ADDRESS       the address to listen on (default 127.0.0.1)
  --var KEY:VALUE    override a variable or secret of every worker, as wrangler dev --var
                     does (repeatable); KEY:VALUE, split at the first colon
  --persist-to DIR   D1, KV and queue state (default .wrangler/state); one scripts/dev per DIR
  --rate-limit N|off the gateway's rate limit for this run: N requests per 60 s per
                     CF-Connecting-IP (wrangler.toml says 100), or off; local only
  --wheels DIR       the pinned Pyodide wheels (default .cache/pyodide-wheels)
  -h, --help         this text

It prints one JSON line per request and per worker log line, then "Ready on URL";
requests that arrive before that are held until it is ready. Ctrl-C stops it.`;

/** A command-line mistake: one line for stderr, exit status 2. */
export class UsageError extends Error {}

const OPTIONS = {
  port: { type: "string", default: "8787" },
  ip: { type: "string", default: "127.0.0.1" },
  var: { type: "string", multiple: true, default: [] },
  "persist-to": { type: "string", default: ".wrangler/state" },
  "rate-limit": { type: "string" },
  wheels: { type: "string", default: ".cache/pyodide-wheels" },
  help: { type: "boolean", short: "h", default: false },
};

/** `--port`: a whole number 0-65535 (0: any free port). */
function parsePort(text) {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port takes a number from 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}

/** `--var KEY:VALUE` pairs as an object; KEY is a variable name, VALUE anything (colons too). */
function parseVars(pairs) {
  const vars = {};
  for (const pair of pairs) {
    const at = pair.indexOf(":");
    const key = pair.slice(0, at);
    if (at < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      const hint = /^[A-Za-z_][A-Za-z0-9_]*=/.test(pair) ? ` (use a colon: ${pair.replace("=", ":")})` : "";
      throw new UsageError(`--var takes KEY:VALUE, got ${JSON.stringify(pair)}${hint}`);
    }
    vars[key] = pair.slice(at + 1);
  }
  return vars;
}

/** `--rate-limit`: a positive whole number, or `off`; undefined keeps the config's limit. */
function parseRateLimit(text) {
  if (text === undefined || text === "off") return text;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new UsageError(`--rate-limit takes a number of requests (1 or more) or off, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * The options of `argv`, checked. Throws UsageError with a one-line message.
 * @returns {{help: boolean, port: number, ip: string, vars: object, persistTo: string, rateLimit: number|"off"|undefined, wheels: string}}
 */
export function parseCommandLine(argv) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(String(error.message).split("\n")[0]);
  }
  return {
    help: values.help,
    port: parsePort(values.port),
    ip: values.ip,
    vars: parseVars(values.var),
    persistTo: values["persist-to"],
    rateLimit: parseRateLimit(values["rate-limit"]),
    wheels: values.wheels,
  };
}
