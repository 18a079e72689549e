// Assembles what one worker uploads: dist/<worker>/ holds src/<worker>, src/shared and
// src/contracts (Python sources only), and nothing of the other workers.
//
// Python Workers upload every .py under `base_dir`, and wrangler does not follow
// symlinked folders there, so one copy of the shared code in src/ reaches three
// uploads through this step. wrangler runs it as each config's custom build
// (`[build] command`, before `dev` and `deploy`), and the local runtime runs the same
// command, so both load exactly what a deploy would ship.
//
//   node scripts/assemble.mjs users
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WORKERS = ["gateway", "users", "orders"];
const SHARED = ["shared", "contracts"];

const worker = process.argv[2];
if (!WORKERS.includes(worker)) {
  console.error(`usage: node scripts/assemble.mjs ${WORKERS.join("|")}`);
  process.exit(2);
}

const target = path.join(ROOT, "dist", worker);
const staging = `${target}.tmp-${process.pid}`;
const keep = (source) => {
  const name = path.basename(source);
  return name !== "__pycache__" && (fs.statSync(source).isDirectory() || name.endsWith(".py"));
};
fs.rmSync(staging, { recursive: true, force: true });
for (const pkg of [worker, ...SHARED]) {
  fs.cpSync(path.join(ROOT, "src", pkg), path.join(staging, pkg), { recursive: true, filter: keep });
}
// Swap in whole: a reader (wrangler's watcher, a running dev server) never sees half a tree.
fs.rmSync(target, { recursive: true, force: true });
fs.renameSync(staging, target);
