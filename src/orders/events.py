"""The queue consumers' rules: what each event does, and ack or retry per message.

Delivery is at least once, so every effect is conditional: confirming is
`pending -> confirmed` in one UPDATE (a redelivery changes nothing), cancelling a
deleted user's orders touches only open ones, and the webhook is skipped once it has
accepted the event. A failure is recorded (for the dead-letter view) and the message
retried with a growing delay; after the queue's max_retries it goes to the
dead-letter queue, which `orders.dead_letters` records.
"""

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from contracts.events import ORDER_CREATED, USER_DELETED
from orders.dead_letters import DeadLetterService
from orders.messages import DEAD_LETTER_QUEUE, Decision, QueueMessage, ack, last_attempt, retry_later
from orders.repository import DeliveryFailureRepository, OrderRepository
from shared import clock
from shared.adapters.webhook import DeliveryFailed, Notifier
from shared.errors import describe
from shared.logging import Logger
from shared.telemetry import Telemetry

EventHandler = Callable[[dict[str, Any], Logger], Awaitable[None]]


class EventConsumer:
    """order.created, and user.deleted from the release before account erasure became a workflow
    (kept one release, so its events and their replays still cancel orders; README: "Choreography
    or orchestration")."""

    def __init__(
        self,
        orders: OrderRepository,
        failures: DeliveryFailureRepository,
        notifier: Notifier | None,
        cancel_account_orders: Callable[[str], Awaitable[int]],
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        """`cancel_account_orders`: OrdersService's, which the erasure's first step runs too."""
        self.orders = orders
        self._cancel_account_orders = cancel_account_orders
        self.failures = failures
        self.notifier = notifier
        self._now = now
        self._handlers: dict[str, EventHandler] = {
            ORDER_CREATED: self._order_created,
            USER_DELETED: self._user_deleted,
        }

    async def handle(self, queue: str, message: QueueMessage, log: Logger) -> Decision:
        log = log.bind(
            queue=queue,
            message_id=message.id,
            event_id=message.event_id,
            event_type=message.event_type,
            attempts=message.attempts,
            request_id=message.body.get("request_id"),
        )
        handler = self._handlers.get(message.event_type or "")
        if handler is None:
            log.warning("unknown event type; dropped")
            return ack(message)
        try:
            await handler(message.body, log)
        except Exception as error:  # noqa: BLE001 - every failure becomes a retry
            return await self._failed(queue, message, error, log)
        if message.attempts > 1:
            await self._forget_failures(message, log)
        return ack(message)

    async def _failed(self, queue: str, message: QueueMessage, error: Exception, log: Logger) -> Decision:
        decision = retry_later(message)
        if last_attempt(message):
            outcome, details = "no retries left, so it goes to the dead-letter queue", {}
        else:
            outcome, details = "will retry", {"retry_in_seconds": decision.retry_delay_seconds}
        if isinstance(error, DeliveryFailed):  # expected: the receiver is down; no traceback needed
            log.warning(f"webhook delivery failed; {outcome}", reason=str(error), **details)
        else:
            log.exception(f"event failed; {outcome}", error, **details)
        try:
            await self.failures.record(message.event_id, queue, describe(error), clock.iso(self._now()))
        except Exception as record_error:
            log.exception("could not record the delivery failure", record_error)
        return decision

    async def _forget_failures(self, message: QueueMessage, log: Logger) -> None:
        try:
            await self.failures.clear(message.event_id)
        except Exception as error:
            log.exception("could not clear the delivery failure", error)

    async def _order_created(self, event: dict[str, Any], log: Logger) -> None:
        order_id = event.get("order_id")
        if not isinstance(order_id, str):
            log.warning("order.created without an order_id; dropped")
            return
        now = clock.iso(self._now())
        if await self.orders.confirm(order_id, now):
            log.info("order confirmed", order_id=order_id)
        state = await self.orders.delivery_state(order_id)
        if state is None:
            log.warning("order.created for an unknown order; dropped", order_id=order_id)
            return
        if self.notifier is None or state.notified_at is not None:
            return
        await self.notifier.notify(event)  # raises DeliveryFailed -> retry; the confirm is not redone
        await self.orders.mark_notified(order_id, clock.iso(self._now()))
        log.info("webhook delivered", order_id=order_id)

    async def _user_deleted(self, event: dict[str, Any], log: Logger) -> None:
        user_id = event.get("user_id")
        if not isinstance(user_id, str):
            log.warning("user.deleted without a user_id; dropped")
            return
        cancelled = await self._cancel_account_orders(user_id)  # closed already, by the gateway before its 204
        log.info("open orders of a deleted user cancelled", user_id=user_id, cancelled=cancelled)


async def consume(
    queue: str,
    messages: list[QueueMessage],
    events: EventConsumer,
    dead_letters: DeadLetterService,
    log: Logger,
    telemetry: Telemetry,
) -> list[Decision]:
    """One verdict per message of a batch, in order; messages are handled one at a time
    so a batch's effects happen in queue order, each in the trace it was sent in."""
    decisions = []
    for message in messages:
        if queue == DEAD_LETTER_QUEUE:
            handle = functools.partial(dead_letters.record, message, log)
        else:
            handle = functools.partial(events.handle, queue, message, log)
        decisions.append(await telemetry.message(queue, message.body, handle, _verdict))
    return decisions


def _verdict(decision: Decision) -> str:
    return "retry" if decision.retry else "ack"
