// Assembles what one worker uploads: dist/<worker>/ holds src/<worker>, src/shared and
// src/contracts (Python sources only), and nothing of the other workers. For the gateway
// it also assembles its static assets, dist/public/ ([assets] in wrangler.toml): the
// pages' own files from src/pages, and Swagger UI and uPlot copied from node_modules.
//
// Python Workers upload every .py under `base_dir`, and wrangler does not follow
// symlinked folders there, so one copy of the shared code in src/ reaches three
// uploads through this step. wrangler runs it as each config's custom build
// (`[build] command`, before `dev` and `deploy`), and the local runtime runs the same
// command, so both load exactly what a deploy would ship.
//
// Why the renderer and the charts are copied here and not committed: package-lock.json
// pins their exact versions and integrity hashes, `npm ci` checks them, an upgrade is a
// one-line change, and 1.9 MB of minified third-party code stays out of the history and
// the reviews.
//
//   node scripts/assemble.mjs users
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WORKERS = ["gateway", "users", "orders"];
const SHARED = ["shared", "contracts"];
/** Static assets per worker: the pages' sources, and files vendored from npm packages. */
const ASSETS = {
  gateway: {
    target: "dist/public",
    pages: "src/pages",
    vendored: [
      {
        from: "node_modules/swagger-ui-dist",
        to: "docs/vendor/swagger-ui",
        files: ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"],
      },
      {
        // The minified build (22 KB gzipped; the package ships its ES module unminified, 42 KB).
        from: "node_modules/uplot",
        to: "admin/vendor/uplot",
        files: ["dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"],
      },
    ],
  },
};

const worker = process.argv[2];
if (!WORKERS.includes(worker)) {
  console.error(`usage: node scripts/assemble.mjs ${WORKERS.join("|")}`);
  process.exit(2);
}

/** Every file below `dir` by its path relative to `dir`, with its bytes. */
function readTree(dir) {
  const files = new Map();
  for (const name of fs.readdirSync(dir, { recursive: true })) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isFile()) files.set(name, fs.readFileSync(full));
  }
  return files;
}

function sameTree(a, b) {
  if (!fs.existsSync(b)) return false;
  const [left, right] = [readTree(a), readTree(b)];
  return left.size === right.size && [...left].every(([name, bytes]) => right.get(name)?.equals(bytes));
}

/** Fills a staging dir with `fill(staging)`, then swaps it in whole: a reader (wrangler's
 * watcher, a running dev server) never sees half a tree. An unchanged tree is left in
 * place, so a second runtime started from the same checkout does not pull the files from
 * under the first one's asset server. */
function swapIn(target, fill) {
  const staging = `${target}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fill(staging);
  if (sameTree(staging, target)) {
    fs.rmSync(staging, { recursive: true, force: true });
    return;
  }
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(staging, target);
}

const isPython = (source) => {
  const name = path.basename(source);
  return name !== "__pycache__" && (fs.statSync(source).isDirectory() || name.endsWith(".py"));
};
swapIn(path.join(ROOT, "dist", worker), (staging) => {
  for (const pkg of [worker, ...SHARED]) {
    fs.cpSync(path.join(ROOT, "src", pkg), path.join(staging, pkg), { recursive: true, filter: isPython });
  }
});

const assets = ASSETS[worker];
if (assets) {
  swapIn(path.join(ROOT, assets.target), (staging) => {
    fs.cpSync(path.join(ROOT, assets.pages), staging, { recursive: true });
    for (const { from, to, files } of assets.vendored) {
      fs.mkdirSync(path.join(staging, to), { recursive: true });
      for (const file of files) {
        const source = path.join(ROOT, from, file);
        if (!fs.existsSync(source)) {
          console.error(`assemble: ${path.relative(ROOT, source)} is missing; run scripts/setup (npm ci) first`);
          process.exit(1);
        }
        fs.copyFileSync(source, path.join(staging, to, path.basename(file)));
      }
    }
  });
}
