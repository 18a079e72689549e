"""Dead letters: recorded once when they arrive, listed and replayed by admins.

A dead-letter message carries only the original body, so the source queue is derived
from the event type and the failure reason comes from `delivery_failures`, which the
consumers keep per event id.
"""

from collections.abc import Callable, Mapping
from datetime import datetime

from contracts.orders import ListDeadLettersQuery
from orders.domain import DeadLetterRecord
from orders.messages import SOURCE_QUEUES, UNKNOWN_QUEUE, Decision, QueueMessage, ack, event_id_of, retry_later
from orders.repository import DeadLetterRepository, DeliveryFailureRepository
from shared import clock
from shared.adapters.queue import EventPublisher
from shared.cursor import page_after, page_of
from shared.errors import Conflict, NotFound
from shared.identity import Identity, require_admin
from shared.logging import Logger


class DeadLetterService:
    def __init__(
        self,
        letters: DeadLetterRepository,
        failures: DeliveryFailureRepository,
        publishers: Mapping[str, EventPublisher],
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        """`publishers` maps a source queue name to the producer that sends to it."""
        self.letters = letters
        self.failures = failures
        self.publishers = publishers
        self._now = now

    async def record(self, message: QueueMessage, log: Logger) -> Decision:
        """Store the message once (its id is the key), then ack; a storage failure retries it."""
        log = log.bind(
            message_id=message.id,
            event_id=message.event_id,
            event_type=message.event_type,
            request_id=message.body.get("request_id"),
        )
        try:
            failure = await self.failures.get(message.event_id)
            letter = DeadLetterRecord(
                id=message.id,
                queue=SOURCE_QUEUES.get(message.event_type or "", UNKNOWN_QUEUE),
                body=message.body,
                attempts=failure.attempts if failure else message.attempts,
                last_error=failure.last_error if failure else None,
                time=clock.iso(self._now()),
            )
            recorded = await self.letters.record(letter)
        except Exception as error:
            log.exception("could not record dead letter", error)
            return retry_later(message)
        log.warning("dead letter recorded" if recorded else "dead letter already recorded", source_queue=letter.queue)
        return ack(message)

    async def waiting(self, caller: Identity, query: ListDeadLettersQuery) -> tuple[list[DeadLetterRecord], str | None]:
        """One page of the dead letters not yet replayed, newest first, and the next page's cursor."""
        require_admin(caller, "list dead letters")
        return page_of(await self.letters.waiting(page_after(query.cursor), query.limit + 1), query.limit)

    async def count_waiting(self) -> int:
        """How many are waiting: the gateway's dead-letter alert (only the gateway can ask)."""
        return await self.letters.count_waiting()

    async def replay(self, caller: Identity, letter_id: str, log: Logger) -> None:
        """Send the stored body back to its source queue, once, and take it off the list."""
        require_admin(caller, "replay dead letters")
        letter = await self.letters.get(letter_id)
        if letter is None:
            raise NotFound("No such dead letter (or it was already replayed)")
        publisher = self.publishers.get(letter.queue)
        if publisher is None:
            raise Conflict(f"Dead letters from queue '{letter.queue}' cannot be replayed")
        if not await self.letters.claim_replay(letter_id, clock.iso(self._now())):
            raise NotFound("No such dead letter (or it was already replayed)")
        try:
            await self.failures.clear(event_id_of(letter.body, letter.id))  # a fresh count of failures
            await publisher.send(letter.body)
        except BaseException:
            await self.letters.unclaim_replay(letter_id)
            raise
        log.info("dead letter replayed", letter_id=letter_id, source_queue=letter.queue)
