// Faults the local runtime can inject, for tests of how the system degrades. They live
// in the runtime, not in the workers: no deployed code has a door for them.
//
//   POST /cdn-cgi/local/faults?worker=orders&fault=fail   the worker answers 500 to every request
//   ...&fault=hang                                         it never answers (until the fault is cleared)
//   ...&fault=down                                         its service binding fails to connect
//   ...&fault=d1-error                                     its D1 database throws on every query
//   ...&fault=d1-error-after-a-query                       its D1 database answers one more query, then
//                                                          throws on every query (a request dies half way)
//   ...&fault=kill-consumer                                its next queue batch dies half way (once)
//   ...&fault=step-fails&step=NAME&times=N|always          the next N attempts (or every attempt) of its
//                                                          workflow step NAME fail after the step's
//                                                          Python ran: its effect happened, its result is
//                                                          lost, and the engine retries it
//   ...&fault=none                                         back to normal
//   GET  /cdn-cgi/local/faults                             the faults in force (every POST answers them too):
//                                                          {"faults": {"edge-orders": "fail"},
//                                                           "step_fails": {"edge-users": {"NAME": N|"always"}}}

export const FAULTS = ["fail", "hang", "down", "d1-error", "d1-error-after-a-query", "kill-consumer", "step-fails", "none"];
export const FAULTS_DOOR = "/cdn-cgi/local/faults";

export class Faults {
  #byWorker = new Map();
  #steps = new Map(); // worker -> step name -> attempts left to fail (Infinity: always)

  get(worker) {
    return this.#byWorker.get(worker) ?? "none";
  }

  set(worker, fault) {
    if (fault === "none") {
      this.#byWorker.delete(worker);
      this.#steps.delete(worker);
    } else this.#byWorker.set(worker, fault);
  }

  /** `step-fails`: the next `times` attempts of `worker`'s workflow step `step` fail (`always`: all). */
  failStep(worker, step, times) {
    const steps = this.#steps.get(worker) ?? new Map();
    steps.set(step, times === "always" ? Infinity : Number(times));
    this.#steps.set(worker, steps);
  }

  /** Whether this attempt of `worker`'s step `step` is to fail; counts it. */
  takeStepFailure(worker, step) {
    const left = this.#steps.get(worker)?.get(step) ?? 0;
    if (left <= 0) return false;
    this.#steps.get(worker).set(step, left - 1);
    return true;
  }

  /** Whether `worker` has the one-shot `fault`; taking it clears it (and nothing else: its
   * workflow step faults stay until the door sets `none`). */
  take(worker, fault) {
    if (this.get(worker) !== fault) return false;
    this.#byWorker.delete(worker);
    return true;
  }

  /** What the door answers: each worker's fault, and its workflow steps still to fail
   * (attempts left, or "always"), so a test can see what an earlier one left in force. */
  snapshot() {
    const stepFails = {};
    for (const [worker, steps] of this.#steps) {
      const pending = [...steps].filter(([, left]) => left > 0);
      if (pending.length) stepFails[worker] = Object.fromEntries(pending.map(([step, left]) => [step, left === Infinity ? "always" : left]));
    }
    return { faults: Object.fromEntries(this.#byWorker), step_fails: stepFails };
  }

  /** Resolves once `worker` no longer hangs: what its hung requests wait for (the caller's timeout comes first). */
  untilCleared(worker) {
    return new Promise((resolve) => {
      const check = () => (this.get(worker) === "hang" ? setTimeout(check, 50) : resolve());
      check();
    });
  }

  /** Throws as workerd's D1 does when the database fails, if `worker`'s database is set to. */
  checkD1(worker) {
    if (this.take(worker, "d1-error-after-a-query")) this.set(worker, "d1-error");
    else if (this.get(worker) === "d1-error") throw new Error("D1_ERROR: injected fault: the database is unavailable");
  }

  /** Throws as a service binding does when the target cannot be reached, if it is set to. */
  checkReachable(worker) {
    if (this.get(worker) === "down") throw new Error("Network connection lost. (injected fault)");
  }
}
