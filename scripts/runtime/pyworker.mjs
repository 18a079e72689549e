// One Python worker in its own Pyodide interpreter, set up the way workerd sets up
// Python Workers: the SDK's runtime-internal modules registered, the worker's
// packages unpacked into site-packages, every uploaded module under /session/metadata
// and the main module imported at start.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { snapshotFor } from "./snapshot.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const APP_DIR = "/session/metadata";

/** Compatibility flags the SDK reads, as they stand for the configs' compatibility date. */
const COMPAT_FLAGS = {
  python_workflows_implicit_dependencies: true,
  python_request_headers_preserve_commas: true,
};

export class WorkerImportError extends Error {}

/** Where the SDK asks for its JavaScript modules (`_SDK_JS_MODULE_PREFIX` in workers/utils.py). */
const SDK_JS_PREFIX = "python_modules/workers/";

const sitePackages = (py) => py.FS.sitePackages ?? "/lib/python3.14/site-packages";

/**
 * A promise of what `value` settles to, its `then` called now: Pyodide passes a Python
 * awaitable (the ASGI adapter's background task, say) as a borrowed proxy destroyed when
 * the call returns, and `Promise.resolve` would call `then` a tick later, on a dead proxy
 * (an uncaught error that ends the process).
 */
const adopt = (value) => (typeof value?.then === "function" ? new Promise((resolve, reject) => value.then(resolve, reject)) : Promise.resolve(value));

/**
 * A Pyodide output stream that hands `log` each whole line, decoded once per write: the
 * `batched` writer of loadPyodide's `stdout` option pushes every byte into a JS array, a cost
 * the runtime's meter would count as the worker's CPU on every log line.
 */
function lineWriter(log) {
  const decoder = new TextDecoder();
  let rest = "";
  return {
    isatty: false,
    write(bytes) {
      const lines = (rest + decoder.decode(bytes, { stream: true })).split("\n");
      rest = lines.pop();
      for (const line of lines) log(line);
      return bytes.length;
    },
    fsync() {
      if (rest) log(rest);
      rest = "";
    },
  };
}

const isFatal = (error) => Boolean(error?.pyodide_fatal_error) || /fatally failed|fatal error/i.test(String(error?.message));

/** Each release has its own wheels (its own ABI): `<root>/<pyodide version>`, as scripts/setup lays them out. */
export function wheelsDirFor(root, release) {
  return path.join(root, release.pyodide);
}

export class PythonWorker {
  /**
   * @param {import('./config.mjs').WorkerSpec} spec
   * `extraWheelsDirs`: more wheel dirs to unpack after the release's own (the benchmark's
   * FastAPI wheels); `beforeImport(py)`: called once the packages and modules are in place,
   * just before the main module is imported (the benchmark times imports there);
   * `bytecode`: a BytecodeCache (bytecode.mjs) to start from and to keep up to date;
   * `snapshotDir`: where the release's start-up snapshot is kept (snapshot.mjs), if used.
   */
  constructor(spec, { wheelsDir, modules, log, extraWheelsDirs = [], beforeImport = null, bytecode = null, snapshotDir = null }) {
    this.spec = spec;
    this.bytecode = bytecode;
    this.snapshotDir = snapshotDir;
    this.wheelsDirs = [wheelsDirFor(wheelsDir, spec.release), ...extraWheelsDirs];
    this.beforeImport = beforeImport;
    this.modules = modules;
    this.log = log;
    this.env = null;
    this.restarting = null;
    this.#newLife();
  }

  /** `death` rejects when this interpreter dies, so the events inside it fail instead of hanging. */
  #newLife() {
    this.death = new Promise((_, reject) => {
      this.kill = reject;
    });
    this.death.catch(() => {});
  }

  async start() {
    const { loadPyodide } = await import(this.spec.release.local.npm);
    const options = { env: { HOME: "/session" } };
    const snapshot = this.snapshotDir ? await snapshotFor(loadPyodide, this.spec.release, options, this.snapshotDir) : undefined;
    const py = await loadPyodide({ ...options, _loadSnapshot: snapshot });
    py.setStdout(lineWriter(this.log));
    py.setStderr(lineWriter(this.log));
    if (py.version !== this.spec.release.pyodide) {
      throw new WorkerImportError(`worker ${this.spec.name} needs Pyodide ${this.spec.release.pyodide}, but loaded ${py.version}`);
    }
    for (const dir of this.wheelsDirs) {
      for (const wheel of fs.readdirSync(dir).filter((f) => f.endsWith(".whl")).sort()) {
        const bytes = new Uint8Array(fs.readFileSync(path.join(dir, wheel)));
        await py.unpackArchive(bytes, "wheel", { extractDir: sitePackages(py) });
      }
    }
    py.registerJsModule("_cloudflare_compat_flags", COMPAT_FLAGS);
    py.registerJsModule("_pyodide_entrypoint_helper", this.#entrypointHelper());
    for (const [rel, bytes] of Object.entries(this.modules)) {
      const target = `${APP_DIR}/${rel}`;
      py.FS.mkdirTree(path.posix.dirname(target));
      py.FS.writeFile(target, new Uint8Array(bytes));
    }
    py.FS.writeFile("/session/_edge_local_host.py", fs.readFileSync(path.join(HERE, "host.py")));
    py.runPython(`import sys; sys.path[:0] = ["${APP_DIR}", "/session"]`);
    this.bytecode?.restore(py);
    await this.beforeImport?.(py);
    this.host = py.pyimport("_edge_local_host");
    const failure = this.host.load(path.basename(this.spec.mainPath, ".py"));
    if (failure) {
      throw new WorkerImportError(`worker ${this.spec.name} failed to import ${path.relative(process.cwd(), this.spec.mainPath)}:\n${failure}`);
    }
    this.bytecode?.save(py, this.host.compile_imported([APP_DIR, sitePackages(py)]).toJs());
    this.py = py;
    return this;
  }

  runtimeInfo() {
    return this.host.runtime_info().toJs({ dict_converter: Object.fromEntries });
  }

  /** Hooks the SDK imports from the runtime (see workers/utils.py and entrypoints.py). */
  #entrypointHelper() {
    const worker = this;
    return {
      cloudflareWorkersModule: {
        get env() {
          return worker.env;
        },
        waitUntil: (promise) => worker.pending.add(adopt(promise)),
      },
      cloudflareSocketsModule: {},
      patchWaitUntil() {},
      /** The SDK's own JavaScript modules (workers/workflows.js), from its package in the upload. */
      async doAnImport(name) {
        if (!name.startsWith(SDK_JS_PREFIX)) throw new Error(`the local runtime cannot import the JavaScript module ${name}`);
        const source = worker.py.FS.readFile(`${sitePackages(worker.py)}/workers/${name.slice(SDK_JS_PREFIX.length)}`);
        return import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
      },
      patch_env_helper() {
        throw new Error("workers.patch_env is not supported by the local runtime");
      },
    };
  }

  /** An ExecutionContext whose waitUntil work is awaited before the event counts as done. */
  #context() {
    const pending = new Set();
    this.pending = pending;
    return {
      ctx: {
        waitUntil: (promise) => pending.add(adopt(promise).catch((e) => this.log(`waitUntil failed: ${e}`))),
        passThroughOnException() {},
        props: {},
      },
      settled: () => Promise.allSettled([...pending]),
    };
  }

  async #dispatch(kind, ...args) {
    await this.restarting;
    const { ctx, settled } = this.#context();
    try {
      return await Promise.race([this.host[kind](ctx, this.env, ...args), this.death]);
    } catch (error) {
      if (isFatal(error)) this.#restart(error);
      throw error;
    } finally {
      settled();
    }
  }

  /**
   * A Pyodide fatal error (a WebAssembly stack overflow, say) leaves the interpreter
   * unusable, as a crash leaves a workerd isolate: later events get a fresh one.
   */
  #restart(error) {
    if (this.restarting) return;
    this.log(JSON.stringify({ level: "error", source: "local-runtime", worker: this.spec.name, message: "interpreter died; starting a new one", error: String(error?.message ?? error) }));
    this.kill(error);
    this.#newLife();
    this.restarting = this.start().finally(() => {
      this.restarting = null;
    });
  }

  /**
   * Pyodide reports a fatal error raised inside a resumed coroutine only as an unhandled
   * rejection, naming no interpreter: each worker checks whether it is the one that died.
   */
  recoverIfDead(error) {
    if (this.restarting || !this.py) return;
    try {
      this.py.runPython("0");
    } catch {
      this.#restart(error);
    }
  }

  fetch(request) {
    return this.#dispatch("fetch", request);
  }

  queue(batch) {
    return this.#dispatch("queue", batch);
  }

  scheduled(controller) {
    return this.#dispatch("scheduled", controller);
  }

  /** One run of the workflow class `className` (workflows.mjs gives the event and the step). */
  workflow(className, event, step) {
    return this.#dispatch("workflow", className, event, step);
  }
}
