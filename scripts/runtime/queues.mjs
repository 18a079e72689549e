// The MessageBatch a Python queue handler receives: the same surface as workerd's
// (queue, messages with id/timestamp/body/attempts, ack/retry, ackAll/retryAll),
// recording each decision so the shim can apply it to miniflare's real messages.

class Message {
  constructor({ id, timestamp, body, attempts }, decide) {
    this.id = id;
    this.timestamp = new Date(timestamp);
    this.body = body;
    this.attempts = attempts;
    this.ack = () => decide(id, { action: "ack" });
    this.retry = (options) => decide(id, { action: "retry", options: options ?? undefined });
  }
}

export class QueueBatch {
  #explicit = new Map();
  #all = null;

  constructor({ queue, messages }) {
    this.queue = queue;
    const decide = (id, decision) => this.#explicit.set(id, { id, ...decision });
    this.messages = messages.map((m) => new Message(m, decide));
  }

  ackAll() {
    this.#all = { action: "ack" };
  }

  retryAll(options) {
    this.#all = { action: "retry", options: options ?? undefined };
  }

  /**
   * Per-message outcomes. A handler that threw leaves undecided messages to be
   * retried by the queue, as workerd does; one that returned acks them implicitly.
   */
  decisions({ failed = false } = {}) {
    return this.messages.flatMap((m) => {
      const decision = this.#explicit.get(m.id) ?? (this.#all && { id: m.id, ...this.#all });
      if (decision) return [decision];
      return failed ? [] : [{ id: m.id, action: "ack" }];
    });
  }
}
