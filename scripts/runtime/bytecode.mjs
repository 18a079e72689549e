// Compiled bytecode kept between starts of the local runtime, per worker.
//
// Pyodide never writes bytecode (`sys.dont_write_bytecode`), and wheels ship none, so
// every start compiled pydantic, the SDK and our modules again: about half of each
// worker's 1.2-1.4 s of imports. After a start, the runtime saves the `.pyc` of every
// module the worker imported; the next start puts them back before the import. They are
// checked-hash pycs: Python uses one only when the hash of its source matches, so an
// edited module is compiled afresh, whatever the files' times. (Cloudflare's answer to
// the same cost is the memory snapshot taken at deploy; the benchmark's cold start
// measures imports without this cache.)
import fs from "node:fs";
import path from "node:path";

export class BytecodeCache {
  /** @param {string} dir  where this worker's pycs live, by their path in the interpreter */
  constructor(dir) {
    this.dir = dir;
  }

  /** Writes every saved pyc into the interpreter's file system, at its own path. */
  restore(py) {
    if (!fs.existsSync(this.dir)) return;
    for (const file of fs.readdirSync(this.dir, { recursive: true })) {
      const source = path.join(this.dir, file);
      if (!file.endsWith(".pyc") || !fs.statSync(source).isFile()) continue;
      const target = `/${file.split(path.sep).join("/")}`;
      py.FS.mkdirTree(path.posix.dirname(target));
      py.FS.writeFile(target, new Uint8Array(fs.readFileSync(source)));
    }
  }

  /** Saves the pycs `compiled` (paths in the interpreter) that the last import had to make. */
  save(py, compiled) {
    for (const file of compiled) {
      const target = path.join(this.dir, ...file.split("/"));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const partial = `${target}.${process.pid}.tmp`;
      fs.writeFileSync(partial, py.FS.readFile(file));
      fs.renameSync(partial, target); // another runtime starting now reads a whole pyc or none
    }
  }
}
