// A memory snapshot of a freshly started Pyodide, kept on disk per release, that every
// worker's interpreter starts from.
//
// Starting Pyodide from nothing took about 2.5 s per interpreter on this machine (three
// per runtime, one after another on Node's thread); from the snapshot, about 0.3 s. The
// snapshot is taken before anything of ours runs (no wheel, no module, no JS value seen
// from Python), so an interpreter started from it is the one `loadPyodide` would give.
// Cloudflare does the same at deploy, with the imports inside.
import fs from "node:fs";
import path from "node:path";

const pending = new Map();

/** The snapshot for `release` (made on first use, then read from `dir`); one load per process. */
export function snapshotFor(loadPyodide, release, options, dir) {
  if (!pending.has(release.pyodide)) pending.set(release.pyodide, readOrMake(loadPyodide, options, path.join(dir, `${release.pyodide}.bin`)));
  return pending.get(release.pyodide);
}

async function readOrMake(loadPyodide, options, file) {
  if (fs.existsSync(file)) return new Uint8Array(fs.readFileSync(file));
  const py = await loadPyodide({ ...options, _makeSnapshot: true });
  const snapshot = py.makeMemorySnapshot();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(partial, snapshot);
  fs.renameSync(partial, file); // another runtime starting now reads a whole snapshot or none
  return snapshot;
}
