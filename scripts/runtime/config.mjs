// Reads the project's wrangler configs with wrangler's own reader, so the local
// runtime declares exactly the bindings, vars and triggers that deploy would.
import { execSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { localRelease } from "./releases.mjs";

/** The three workers, gateway first: it is the one that listens. */
export const CONFIG_PATHS = ["wrangler.toml", "services/users/wrangler.toml", "services/orders/wrangler.toml"];

/**
 * @typedef {object} WorkerSpec
 * @property {string} name            worker name, as service bindings name it
 * @property {string} alias           short name used by the scheduled door (gateway, users, orders)
 * @property {string} configPath
 * @property {string} mainPath        absolute path of the entry module
 * @property {string} baseDir         every .py under it is uploaded, as in a deploy
 * @property {string[]} crons
 * @property {import('./releases.mjs').PythonRelease} release  the Pyodide release workerd would run
 * @property {object} workerOptions   miniflare options derived by wrangler (bindings, vars, queues)
 * @property {{binding: string, migrationsDir: string}[]} migrations
 */

/** @returns {WorkerSpec} */
export function readWorker(root, relPath, varOverrides) {
  const configPath = path.resolve(root, relPath);
  const config = unstable_readConfig({ config: configPath });
  build(config, root);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  // wrangler's reader already merged [vars] with the .dev.vars beside the config.
  workerOptions.bindings = { ...workerOptions.bindings, ...varOverrides };
  // A workflow whose class is in this worker names no script_name; miniflare's engine must
  // be told which worker that is, or it calls a worker of no name.
  for (const workflow of Object.values(workerOptions.workflows ?? {})) workflow.scriptName ??= config.name;
  return {
    name: config.name,
    alias: config.name.replace(/^edge-/, ""),
    configPath,
    mainPath: path.resolve(config.main),
    baseDir: path.resolve(config.base_dir ?? path.dirname(config.main)),
    crons: config.triggers?.crons ?? [],
    release: localRelease(config, root),
    workerOptions,
    migrations: (config.d1_databases ?? []).map((db) => ({
      binding: db.binding,
      migrationsDir: path.resolve(path.dirname(configPath), db.migrations_dir ?? "migrations"),
    })),
  };
}

/** The config's custom build, run as wrangler runs it before `dev` and `deploy` (in `build.cwd`, else here). */
function build(config, root) {
  const command = config.build?.command;
  if (!command) return;
  execSync(command, { cwd: path.resolve(root, config.build.cwd ?? "."), stdio: ["ignore", "ignore", "inherit"] });
}

/** Every Python source under base_dir, keyed by its path in the upload; main lands at the root. */
export function collectModules(spec) {
  const modules = {};
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== "__pycache__") walk(full);
      else if (entry.isFile() && entry.name.endsWith(".py") && full !== spec.mainPath) {
        modules[path.relative(spec.baseDir, full)] = fs.readFileSync(full);
      }
    }
  };
  walk(spec.baseDir);
  modules[path.basename(spec.mainPath)] = fs.readFileSync(spec.mainPath);
  return modules;
}
