// Python Workflows on miniflare's own Workflows engine.
//
// Miniflare runs each `[[workflows]]` of a config as its engine (a Durable Object that
// keeps every instance's step results, attempts, sleeps and status in the state folder)
// and calls `run(event, step)` on the worker's class of that name. The engine can only
// call a JavaScript class, so each shim exports one per workflow of its config; its
// `run` hands the event to Node, where the worker's Python class runs with the SDK's
// `WorkflowEntrypoint` unchanged. The `step` Python receives is a stand-in for the
// engine's: each `do`/`sleep`/`sleepUntil`/`waitForEvent` becomes a command the shim
// performs on the engine's real step, inside the engine's own `run` call; the engine
// calls a step's callback when (and only when) it has no result for it, and the shim
// asks Node to run the Python callback then. Caching, retries with backoff, sleeps and
// statuses are all the engine's; nothing of it is re-implemented here.
//
// The wire between shim and Node is JSON, so what a step returns must be JSON (on
// Cloudflare it may be anything structured-clone carries).
//
// One thing the platform does that miniflare 4 does not: wake an unfinished instance
// after a restart (Cloudflare's engine wakes on its alarm; miniflare's keeps none). The
// runtime does it: each instance it has run is listed in the state folder, and at start
// every one still queued, running or waiting is initialised again through the binding's
// `create` with its id and params, which on an existing instance makes miniflare's
// engine resume it from its stored steps.
import fs from "node:fs";
import path from "node:path";

// An error as it crosses the JSON wire, and back: both sides use these two (the shim gets
// their source text).
function namedError({ name, message }) {
  const error = new Error(message);
  error.name = name;
  return error;
}

const errorOf = (error) => ({ name: error?.name ?? "Error", message: String(error?.message ?? error) });

/** The shim's side: the workflow classes miniflare's engine calls, and the binding's calls over the channel. */
export function workflowShimSource(classNames) {
  const classes = classNames.map((name) => `
export class ${name} extends WorkflowEntrypoint {
  run(event, step) {
    return runWorkflow(this.env, ${JSON.stringify(name)}, event, step);
  }
}`);
  return `
${namedError}

const errorOf = ${errorOf};

/** One run of a workflow instance, driven by its Python class: each command from Node on the engine's step. */
async function runWorkflow(env, className, event, step) {
  const run = crypto.randomUUID();
  const call = async (payload) => settle(await bridged(env, "workflow", { run, ...payload }), "workflow " + className);
  await call({ op: "start", className, event: { ...event, timestamp: new Date(event.timestamp).toISOString() } });
  for (;;) {
    const command = await call({ op: "next" });
    if (command.op === "done") return command.value;
    if (command.op === "failed") throw namedError(command.error);
    performStep(step, command, call).then((outcome) => call({ op: "settle", seq: command.seq, ...outcome })).catch(() => {});
  }
}

async function performStep(step, command, call) {
  try {
    if (command.op === "do") {
      const callback = async (ctx) => {
        const answer = await call({ op: "callback", seq: command.seq, ctx });
        if (answer.error) throw namedError(answer.error);
        return answer.value;
      };
      const value = command.config ? await step.do(command.name, command.config, callback) : await step.do(command.name, callback);
      return { value };
    }
    if (command.op === "sleep") return { value: await step.sleep(command.name, command.duration) };
    if (command.op === "sleepUntil") return { value: await step.sleepUntil(command.name, command.timestamp) };
    if (command.op === "waitForEvent") return { value: await step.waitForEvent(command.name, command.options) };
    return { error: { name: "Error", message: "unknown step operation " + command.op } };
  } catch (error) {
    return { error: errorOf(error) };
  }
}

/** A Workflow binding's call from Python: instances travel as their ids. */
async function workflowCall(binding, method, args) {
  if (method === "create") return { id: (await binding.create(...args)).id };
  if (method === "createBatch") return (await binding.createBatch(...args)).map((instance) => ({ id: instance.id }));
  if (method === "get") return { id: (await binding.get(args[0])).id };
  const [id, ...rest] = args;
  const instance = await binding.get(id);
  return instance[method.slice("instance.".length)](...rest);
}
${classes.join("\n")}
`;
}

const INSTANCE_METHODS = ["status", "pause", "resume", "terminate", "restart", "sendEvent"];

/**
 * The Workflow binding as Python sees it: named as workerd names it (`WorkflowImpl`, the
 * name the SDK wraps), its instances `InstanceImpl`; each call runs in the shim, on
 * miniflare's binding, over the binding channel.
 */
export function workflowBinding(channel, name, facade) {
  const call = (method, args) => channel.call(name, method, args, undefined, true);
  const instance = ({ id }) =>
    facade("InstanceImpl", {
      id,
      ...Object.fromEntries(INSTANCE_METHODS.map((method) => [method, (...args) => call(`instance.${method}`, [id, ...args])])),
    });
  return facade("WorkflowImpl", {
    create: async (...args) => instance(await call("create", args)),
    createBatch: async (...args) => (await call("createBatch", args)).map(instance),
    get: async (id) => instance(await call("get", [id])),
  });
}

/** One Python run of an instance: the commands its steps give, and the Python callbacks they hold. */
class Run {
  commands = [];
  polls = [];
  steps = new Map();
  seq = 0;

  push(command) {
    const poll = this.polls.shift();
    if (poll) poll(command);
    else this.commands.push(command);
  }

  next() {
    return this.commands.length ? this.commands.shift() : new Promise((resolve) => this.polls.push(resolve));
  }

  /** What Python's `step.<op>(...)` returns: a promise of what the engine's step gives back. */
  command(op, fields, callback) {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.steps.set(seq, { name: fields.name, callback, resolve, reject });
      this.push({ op, seq, ...fields });
    });
  }

  /** The stand-in for the engine's step that Python's `run(event, step)` receives. */
  step() {
    return {
      do: (name, ...rest) => this.command("do", { name, config: rest.length > 1 ? plain(rest[0]) : undefined }, rest.at(-1)),
      sleep: (name, duration) => this.command("sleep", { name, duration }),
      sleepUntil: (name, timestamp) => this.command("sleepUntil", { name, timestamp: timestamp instanceof Date ? timestamp.getTime() : timestamp }),
      waitForEvent: (name, options) => this.command("waitForEvent", { name, options: plain(options) }),
    };
  }
}

const plain = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/**
 * Node's side of every workflow run: `handle(spec, worker, payload)` answers the shim's
 * `start`, `next`, `settle` and `callback` calls. `faults` may fail a step's attempt after
 * its Python ran (faults.mjs), so a retry shows whether its effect happens once.
 */
export class WorkflowRuns {
  #runs = new Map();

  constructor({ faults, instances, log }) {
    this.faults = faults;
    this.instances = instances;
    this.log = log;
  }

  async handle(spec, worker, payload) {
    const { op, run: id } = payload;
    if (op === "start") return this.#start(spec, worker, id, payload);
    const run = this.#runs.get(id);
    if (!run) throw new Error(`no workflow run ${id} in this runtime`);
    if (op === "next") {
      const command = await run.next();
      if (command.op === "done" || command.op === "failed") this.#runs.delete(id);
      return command;
    }
    const step = run.steps.get(payload.seq);
    if (op === "settle") {
      run.steps.delete(payload.seq);
      if (payload.error) step.reject(namedError(payload.error));
      else step.resolve(payload.value ?? null);
      return {};
    }
    if (op === "callback") return this.#callback(spec, step, payload.ctx);
    throw new Error(`unknown workflow operation ${op}`);
  }

  #start(spec, worker, id, { className, event }) {
    const run = new Run();
    this.#runs.set(id, run);
    this.instances.ran(spec.name, event);
    const jsEvent = { ...event, timestamp: new Date(event.timestamp) };
    worker.workflow(className, jsEvent, run.step()).then(
      (value) => {
        this.instances.finished(event.instanceId);
        run.push({ op: "done", value: plain(value ?? null) ?? null });
      },
      (error) => {
        this.instances.finished(event.instanceId);
        run.push({ op: "failed", error: errorOf(error) });
      },
    );
    return {};
  }

  async #callback(spec, step, ctx) {
    let value;
    try {
      value = await step.callback(ctx);
    } catch (error) {
      return { error: errorOf(error) };
    }
    if (this.faults.takeStepFailure(spec.name, step.name)) {
      this.log(JSON.stringify({ level: "info", source: "local-runtime", message: "step attempt failed after its work (injected fault)", worker: spec.name, step: step.name, attempt: ctx?.attempt }));
      return { error: { name: "Error", message: `injected fault: step "${step.name}" failed after its work` } };
    }
    return { value: plain(value ?? null) ?? null };
  }
}

/**
 * The instances this state folder's workflows have started and not seen finish (the
 * process ended first), so a restart can wake them:
 * `<state>/workflows/local-runtime-instances.json`, `{instanceId: {worker, workflow, params}}`.
 */
export class WorkflowInstances {
  constructor(dir) {
    this.file = path.join(dir, "local-runtime-instances.json");
    this.list = fs.existsSync(this.file) ? JSON.parse(fs.readFileSync(this.file, "utf8")) : {};
  }

  ran(worker, event) {
    if (this.list[event.instanceId]) return;
    this.list[event.instanceId] = { worker, workflow: event.workflowName, params: event.payload };
    this.#save();
  }

  finished(instanceId) {
    if (!this.list[instanceId]) return;
    delete this.list[instanceId];
    this.#save();
  }

  #save() {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.list));
  }

  /**
   * Wakes every listed instance that is not finished: `create` again with its id and
   * params, as Cloudflare's engine wakes on its alarm. `bindingOf(worker, workflow)` is
   * the Workflow binding facade that reaches it.
   */
  async wake(bindingOf, log) {
    for (const [id, { worker, workflow, params }] of Object.entries(this.list)) {
      const binding = bindingOf(worker, workflow);
      let status = "unknown";
      try {
        status = (await (await binding.get(id)).status()).status;
      } catch {
        // no such workflow or instance any more: nothing to wake
      }
      if (["queued", "running", "waiting"].includes(status)) {
        await binding.create({ id, params });
        log(JSON.stringify({ level: "info", source: "local-runtime", message: "workflow instance woken after a restart", worker, workflow, instance: id, status }));
      } else {
        this.finished(id);
      }
    }
  }
}
