// `scripts/dev`: the whole system offline, like `wrangler dev` for all three workers.
import path from "node:path";
import { parseArgs } from "node:util";
import { WorkerImportError } from "./pyworker.mjs";
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
  log(JSON.stringify({ source: "local-runtime", event: "listening", url: system.url, runtime: system.runtime, workers: system.specs.map((s) => s.name) }));
  process.stderr.write(`Ready on ${system.url} (Python ${system.runtime.python} on ${system.runtime.platform}); Ctrl-C stops.\n`);
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
  process.stderr.write(error instanceof WorkerImportError ? `${error.message}\n` : `${error?.stack ?? error}\n`);
  process.exit(1);
}
