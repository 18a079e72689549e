// Which Pyodide release a Python worker runs, decided from its config the way workerd
// decides it, and whether this runtime can run that release.
//
// The table was read off workerd 1.20261117.1 (wrangler 4.164.0): `wrangler dev` asks
// for the bundle of exactly one release per (compatibility_date, compatibility_flags),
// and the offline toolchain test (tests/toolchain) re-reads it on every run.
import fs from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/**
 * @typedef {object} PythonRelease
 * @property {string} pyodide          Pyodide version workerd loads
 * @property {string} python           the CPython inside it
 * @property {string|null} flag        the compatibility flag that selects it (with `python_workers`)
 * @property {string|null} since       the compatibility date from which it is the default
 * @property {{npm: string, requirements: string, wheelPlatform: string}|null} local
 *   how this runtime runs it (npm package of that exact Pyodide, the wheels pywrangler
 *   vendors for it, pinned in `requirements`); null when it cannot
 */

/** Newest first: the first release whose flag is on, or whose date has come, wins. */
export const RELEASES = [
  {
    pyodide: "314.0.6",
    python: "3.14.2",
    flag: "python_workers_314",
    since: "2026-09-08",
    local: { npm: "pyodide", requirements: "requirements-pyodide.txt", wheelPlatform: "pyemscripten_2026_0_wasm32" },
  },
  { pyodide: "0.28.2", python: "3.13", flag: "python_workers_20250116", since: "2025-09-29", local: null },
  { pyodide: "0.26.0a2", python: "3.12", flag: null, since: null, local: null },
];

export class UnsupportedRelease extends Error {}

/** A flag is on when listed, or when its date has come and its `no_` form is not listed. */
function isOn(release, date, flags) {
  if (release.flag === null) return true;
  if (flags.includes(release.flag)) return true;
  return release.since !== null && date >= release.since && !flags.includes(`no_${release.flag}`);
}

/** The release workerd picks for a config; throws for a config that is not a Python worker. */
export function releaseFor({ name, compatibility_date: date, compatibility_flags: flags = [] }) {
  if (!flags.includes("python_workers")) {
    throw new UnsupportedRelease(`worker ${name}: the python_workers compatibility flag is required to run Python`);
  }
  return RELEASES.find((release) => isOn(release, date ?? "", flags));
}

/**
 * The release a worker runs locally, after checking that this runtime has exactly it.
 * @returns {PythonRelease}
 */
export function localRelease(config, root) {
  const release = releaseFor(config);
  const runnable = RELEASES.filter((r) => r.local).map((r) => r.pyodide);
  if (!release.local) {
    throw new UnsupportedRelease(
      `worker ${config.name}: compatibility_date ${config.compatibility_date} with flags ` +
        `[${(config.compatibility_flags ?? []).join(", ")}] selects Pyodide ${release.pyodide} (Python ${release.python}), ` +
        `which the local runtime cannot run (it runs Pyodide ${runnable.join(", ")}). ` +
        `Set compatibility_date = "${RELEASES[0].since}" or later, or add "${RELEASES[0].flag}" to compatibility_flags.`,
    );
  }
  const installed = installedVersion(release.local.npm, root);
  if (installed !== release.pyodide) {
    throw new UnsupportedRelease(
      `worker ${config.name} needs Pyodide ${release.pyodide}, but node_modules/${release.local.npm} is ${installed ?? "missing"}; ` +
        `pin "${release.local.npm}": "${release.pyodide}" in package.json and run scripts/setup.`,
    );
  }
  return release;
}

function installedVersion(pkg, root) {
  try {
    const require = createRequire(`${root}/package.json`);
    return JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), "utf8")).version;
  } catch {
    return null;
  }
}

// `node releases.mjs`: one line per release this runtime runs, for scripts/setup:
// PYODIDE_VERSION REQUIREMENTS_FILE WHEEL_PLATFORM PYTHON_MAJOR.MINOR
// `node releases.mjs --json`: the whole table, for the tests that hold it to the toolchain.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes("--json")) console.log(JSON.stringify(RELEASES));
  else for (const { pyodide, python, local } of RELEASES.filter((r) => r.local)) {
    console.log([pyodide, local.requirements, local.wheelPlatform, python.split(".").slice(0, 2).join(".")].join(" "));
  }
}
