// The JS worker that stands in workerd for each Python worker. Miniflare runs it with
// the real bindings, queues, workflows and triggers from the worker's config; every event
// it gets goes over the function-valued service binding BRIDGE to Node, which runs the Python
// worker and answers. Queue outcomes (ack/retry per message) are applied here, so
// retries, delays and dead-lettering are miniflare's own. The Python worker's binding
// calls come back the other way, over the shim's binding channel (channel.mjs).
import { CHANNEL_SHIM_SOURCE } from "./channel.mjs";
import { workflowShimSource } from "./workflows.mjs";

export const BRIDGE = "__PYTHON_BRIDGE";
export const EVENT_HEADER = "x-local-runtime-event";
/**
 * The client's method travels in a header and the hop itself is always a POST: miniflare
 * rebuilds each bridged request as an undici Request in Node, which refuses TRACE, TRACK
 * and CONNECT with an exception that nothing can catch (the whole process died of it).
 */
export const METHOD_HEADER = "x-local-runtime-method";

/** The shim of a worker whose config declares the workflow classes `workflowClasses` (workflows.mjs). */
export const shimSource = (workflowClasses = []) => `
import { WorkflowEntrypoint } from "cloudflare:workers";

const EVENT = ${JSON.stringify(EVENT_HEADER)};
const METHOD = ${JSON.stringify(METHOD_HEADER)};

function bridged(env, event, payload) {
  return env.${BRIDGE}.fetch("http://python.local/", {
    method: "POST",
    headers: { [EVENT]: event, "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
}

async function settle(response, what) {
  if (response.ok) return response.json();
  throw new Error(what + " failed in Python: " + (await response.text()));
}

${CHANNEL_SHIM_SOURCE}
${workflowShimSource(workflowClasses)}

export default {
  async fetch(request, env) {
    if (isChannel(request, env)) return openChannel(request, env);
    const headers = new Headers(request.headers);
    headers.set(EVENT, "fetch");
    headers.set(METHOD, request.method);
    return env.${BRIDGE}.fetch(request.url, { method: "POST", headers, body: request.body });
  },

  async queue(batch, env) {
    const messages = batch.messages.map((m) => ({
      id: m.id, timestamp: m.timestamp.getTime(), body: m.body, attempts: m.attempts,
    }));
    const outcome = await settle(await bridged(env, "queue", { queue: batch.queue, messages }), "queue " + batch.queue);
    const byId = new Map(outcome.decisions.map((d) => [d.id, d]));
    for (const message of batch.messages) {
      const decision = byId.get(message.id);
      if (decision?.action === "retry") message.retry(decision.options);
      else if (decision?.action === "ack") message.ack();
    }
    if (outcome.error) throw new Error(outcome.error);
  },

  async scheduled(controller, env) {
    await settle(await bridged(env, "scheduled", { cron: controller.cron, scheduledTime: controller.scheduledTime }), "scheduled " + controller.cron);
  },
};
`;
