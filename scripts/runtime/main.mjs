// `scripts/dev`: the whole system offline, like `wrangler dev` for all three workers.
// The command line is checked and the port bound before the heavy modules load, so a
// mistake or a busy port is reported at once; see args.mjs for the options.
import path from "node:path";
import { USAGE, UsageError, parseCommandLine } from "./args.mjs";
import { PortUnavailable, bindFront } from "./front.mjs";
import { StateInUse, lockState } from "./statelock.mjs";

let options;
try {
  options = parseCommandLine(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`scripts/dev: ${error.message} (scripts/dev --help shows the usage)\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const log = (line) => process.stdout.write(line.endsWith("\n") ? line : `${line}\n`);
const root = process.cwd();
const persistTo = path.resolve(root, options.persistTo);

let front;
try {
  const unlock = lockState(persistTo);
  process.on("exit", unlock);
  front = await bindFront(options.ip, options.port);
} catch (error) {
  if (!(error instanceof StateInUse || error instanceof PortUnavailable)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

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

const { WorkerImportError } = await import("./pyworker.mjs");
const { UnsupportedRelease } = await import("./releases.mjs");
const { startSystem } = await import("./system.mjs");
try {
  const system = await startSystem({
    root,
    persistTo,
    vars: options.vars,
    rateLimit: options.rateLimit,
    wheelsDir: path.resolve(root, options.wheels),
    log,
  });
  front.open(system.port);
  up = true;
  const url = `http://${options.ip}:${front.port}`;
  log(JSON.stringify({ source: "local-runtime", event: "listening", url, runtime: system.runtime, workers: system.specs.map((s) => s.name) }));
  const { python, platform, pyodide } = system.runtime;
  const limit = options.rateLimit === undefined ? "" : `; rate limit ${options.rateLimit === "off" ? "off" : `${options.rateLimit} per 60 s`}`;
  process.stderr.write(`Ready on ${url} (Pyodide ${pyodide}, Python ${python} on ${platform}${limit}); Ctrl-C stops.\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    front.close();
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
