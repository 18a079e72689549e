// Python time per worker per event, counted as `wrangler tail` counts CPU time: the
// time the worker runs, not the time it waits on bindings (KV, D1, queues, rate
// limits, service bindings). A worker's time is its wall time minus the time its
// awaited binding calls took; a service it calls is metered as its own worker.
//
// Exact when one event at a time runs in an interpreter; with events overlapping in one
// interpreter, each one's wall time also holds the others' Python that ran meanwhile.
//
// The billable units each worker's binding calls spent (`tally`) are kept beside, per
// worker, from the bindings' own answers (D1's `meta`): the benchmark prices any worker's
// requests with them, whatever the worker itself counts.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage();

const round = (ms) => Math.round(ms * 100) / 100;

/**
 * Runs `run` as `worker`'s part of an event and adds its Python time to `usage`
 * (`{worker: ms}`), which a nested call (a service binding) shares with its caller.
 */
export async function metered(worker, run, usage = current.getStore()?.usage ?? {}, units = current.getStore()?.units ?? {}) {
  const meter = { waited: 0, inflight: 0, since: 0, usage, units, worker };
  const started = performance.now();
  try {
    return await current.run(meter, run);
  } finally {
    usage[worker] = round((usage[worker] ?? 0) + performance.now() - started - meter.waited);
  }
}

/** Adds `counts` (`{unit: n}`) to the billable units of the worker whose event is running. */
export function tally(counts) {
  const meter = current.getStore();
  if (!meter) return;
  const mine = (meter.units[meter.worker] ??= {});
  for (const [unit, n] of Object.entries(counts)) mine[unit] = (mine[unit] ?? 0) + n;
}

/**
 * A binding call, `start()` making it, its time counted as waiting for the event that
 * makes it, from before `start` runs: the call's own dispatch (the local bindings'
 * serialising and sending) stands in for the platform's, which is not the worker's Python.
 * Calls in flight together (an `asyncio.gather`) count once: the union of their spans.
 */
export function awaited(start) {
  const meter = current.getStore();
  if (!meter) return start();
  if (meter.inflight++ === 0) meter.since = performance.now();
  let promise;
  try {
    promise = Promise.resolve(start());
  } catch (error) {
    promise = Promise.reject(error);
  }
  return promise.finally(() => {
    if (--meter.inflight === 0) meter.waited += performance.now() - meter.since;
  });
}
