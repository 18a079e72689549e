// `scripts/dev`: the whole system offline, like `wrangler dev` for all three workers.
import path from "node:path";
import { parseArgs } from "node:util";
import { WorkerImportError } from "./pyworker.mjs";
import { UnsupportedRelease } from "./releases.mjs";
import { startSystem } from "./system.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    var: { type: "string", multiple: true, default: [] },
    "persist-to": { type: "string", default: ".wrangler/state" },
    wheels: { type: "string", default: ".cache/pyodide-wheels" },
  },
});

function parseVars(pairs) {
  const vars = {};
  for (const pair of pairs) {
    const at = pair.indexOf(":");
    if (at < 1) throw new Error(`--var takes KEY:VALUE, got ${JSON.stringify(pair)}`);
    vars[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return vars;
}

const log = (line) => process.stdout.write(line.endsWith("\n") ? line : `${line}\n`);

// The last line of defence: a failure that escapes every handler (inside miniflare, say)
// is logged as an error, which fails the test run, and the system stays up for the rest.
// Before the system is up, such a failure ends start-up instead of leaving it hanging.
let up = false;
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (error) => {
    log(JSON.stringify({ level: "error", source: "local-runtime", message: event, error: String(error?.stack ?? error) }));
    if (!up) process.exit(1);
  });
}

try {
  const root = process.cwd();
  const system = await startSystem({
    root,
    host: values.ip,
    port: Number(values.port),
    persistTo: path.resolve(root, values["persist-to"]),
    vars: parseVars(values.var),
    wheelsDir: path.resolve(root, values.wheels),
    log,
  });
  up = true;
  log(JSON.stringify({ source: "local-runtime", event: "listening", url: system.url, runtime: system.runtime, workers: system.specs.map((s) => s.name) }));
  const { python, platform, pyodide } = system.runtime;
  process.stderr.write(`Ready on ${system.url} (Pyodide ${pyodide}, Python ${python} on ${platform}); Ctrl-C stops.\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await system.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  const known = error instanceof WorkerImportError || error instanceof UnsupportedRelease;
  process.stderr.write(known ? `${error.message}\n` : `${error?.stack ?? error}\n`);
  process.exit(1);
}
