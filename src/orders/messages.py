"""Queue messages as plain data, and the per-message verdicts the consumers return.

The entry module turns the runtime's batch into `QueueMessage`s, the services decide
ack or retry(delay) for each, and `apply_decisions` hands the verdicts back to the
runtime. Keeping the decision a value makes the retry policy testable in CPython.
"""

from dataclasses import dataclass
from typing import Any

from contracts.events import ORDER_CREATED, USER_DELETED
from shared.adapters.jsvalues import to_python

# The queues' names as the code knows them. Each deployed environment appends its
# QUEUE_NAME_SUFFIX ("-staging", "-production") in its config; `queue_role` strips it.
ORDER_EVENTS_QUEUE = "edge-order-events"
USER_EVENTS_QUEUE = "edge-user-events"
DEAD_LETTER_QUEUE = "edge-dead-letters"

# Where each event type comes from: a dead letter's body names no queue, its type does.
SOURCE_QUEUES = {ORDER_CREATED: ORDER_EVENTS_QUEUE, USER_DELETED: USER_EVENTS_QUEUE}
UNKNOWN_QUEUE = "unknown"

MAX_RETRY_DELAY_SECONDS = 60
# max_retries of the event queues' consumers (the configs'; a unit test holds them equal):
# the queue delivers a message 1 + MAX_RETRIES times, then moves it to the dead-letter queue.
MAX_RETRIES = 3


def queue_role(queue: str, suffix: str) -> str:
    """The name the code knows a batch's queue by: its environment's suffix removed."""
    return queue.removesuffix(suffix) if suffix else queue


def event_id_of(body: dict[str, Any], fallback: str) -> str:
    """The producer's event id (stable across redeliveries and replays), else `fallback`."""
    event_id = body.get("id")
    return event_id if isinstance(event_id, str) and event_id else fallback


@dataclass(frozen=True)
class QueueMessage:
    id: str
    body: dict[str, Any]
    attempts: int

    @property
    def event_id(self) -> str:
        return event_id_of(self.body, self.id)

    @property
    def event_type(self) -> str | None:
        kind = self.body.get("type")
        return kind if isinstance(kind, str) else None


@dataclass(frozen=True)
class Decision:
    message_id: str
    retry_delay_seconds: int | None = None  # None: ack

    @property
    def retry(self) -> bool:
        return self.retry_delay_seconds is not None


def ack(message: QueueMessage) -> Decision:
    return Decision(message.id)


def retry_later(message: QueueMessage) -> Decision:
    """Back off 2, 4, 8, ... seconds by delivery attempt, capped at a minute."""
    return Decision(message.id, retry_delay(message.attempts))


def retry_delay(attempts: int) -> int:
    return min(int(2 ** max(attempts, 1)), MAX_RETRY_DELAY_SECONDS)


def last_attempt(message: QueueMessage) -> bool:
    """Whether a retry of this delivery would go to the dead-letter queue instead."""
    return message.attempts > MAX_RETRIES


def message_from_runtime(message: Any) -> QueueMessage:
    """One runtime message (SDK wrapper or raw JS proxy) as plain data."""
    body = to_python(message.body)
    if not isinstance(body, dict):
        body = {"raw": body}
    return QueueMessage(id=str(message.id), body=dict(body), attempts=int(message.attempts or 1))


def apply_decisions(messages: list[Any], decisions: list[Decision]) -> None:
    """ack() or retry({"delaySeconds": n}) each runtime message; undecided ones are retried."""
    by_id = {decision.message_id: decision for decision in decisions}
    for message in messages:
        decision = by_id.get(str(message.id))
        if decision is None:
            message.retry({"delaySeconds": retry_delay(int(message.attempts or 1))})
        elif decision.retry:
            message.retry({"delaySeconds": decision.retry_delay_seconds})
        else:
            message.ack()
