"""Placing, reading and cancelling orders: the business rules, free of HTTP and runtime.

Publishing `order.created` is best effort at request time: the order and its
idempotency record are committed first (one D1 batch), then the event is sent and the
order marked published. If the send fails, the order is not lost and the request still
succeeds: the scheduled maintenance re-publishes pending orders that were never marked
published, with the same event id, and the consumer's conditional confirm makes any
duplicate harmless.
"""

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.events import ORDER_CREATED
from contracts.orders import CreateOrderRequest, ListOrdersQuery
from orders.domain import LineItem, OrderRecord
from orders.repository import (
    AccountRepository,
    IdempotencyRecord,
    IdempotencyRepository,
    OrderEventSource,
    OrderRepository,
)
from shared import clock
from shared.adapters.d1 import Database
from shared.adapters.queue import EventPublisher
from shared.cursor import page_after, page_of
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated, Unprocessable
from shared.identity import Identity
from shared.logging import Logger
from shared.maintenance import Counts, Task

# The status the first answer to a create carried; a replay answers with the stored one.
CREATED_STATUS = 201
# A claim still in flight after this long belongs to a request that died; a retry may take it over.
IN_FLIGHT_TAKEOVER_SECONDS = 120


class AccountClosed(Unauthenticated):
    """The caller's account was deleted: its token may still be valid, but it writes nothing."""

    def __init__(self) -> None:
        super().__init__("This account is closed")


@dataclass(frozen=True)
class OrdersSettings:
    pending_ttl_seconds: int = 86_400
    idempotency_ttl_seconds: int = 86_400
    # A pending order still unpublished after this long had its publish fail (requests
    # publish within seconds): maintenance sends its order.created again.
    republish_after_seconds: int = 120
    republish_batch: int = 100


@dataclass(frozen=True)
class CreateOutcome:
    """The answer to a create: fresh, or the first answer replayed for a repeated Idempotency-Key."""

    status: int
    body: dict[str, Any]
    replayed: bool


def order_total(request: CreateOrderRequest) -> int:
    """Computed here, never taken from the client."""
    return sum(item.quantity * item.unit_price_cents for item in request.items)


_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode  # one encoder, not one per call


def request_fingerprint(request: CreateOrderRequest) -> str:
    """Hash of the canonical (validated, key-sorted) body: same order, same hash, whatever the JSON layout."""
    canonical = _canonical_json(request.model_dump(mode="json"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_created_event(source: OrderEventSource) -> dict[str, Any]:
    return {
        "type": ORDER_CREATED,
        "id": source.event_id,
        "order_id": source.order_id,
        "user_id": source.user_id,
        "request_id": source.request_id,
        "occurred_at": source.created_at,
    }


async def publish_order_created(
    orders: OrderRepository, publisher: EventPublisher, source: OrderEventSource, now: str
) -> None:
    """Send the event, then remember it went out (so the sweeper leaves it alone)."""
    await publisher.send(order_created_event(source))
    await orders.mark_published(source.order_id, now)


class OrdersService:
    def __init__(
        self,
        db: Database,
        orders: OrderRepository,
        keys: IdempotencyRepository,
        publisher: EventPublisher,
        settings: OrdersSettings,
        now: Callable[[], datetime] = clock.now,
        *,
        accounts: AccountRepository | None = None,
    ) -> None:
        """`db` commits an order and its idempotency record together (one batch)."""
        self.db = db
        self.orders = orders
        self.keys = keys
        self.publisher = publisher
        self.settings = settings
        self._now = now
        self.accounts = accounts or AccountRepository(db)

    async def create(
        self,
        caller: Identity,
        request: CreateOrderRequest,
        *,
        idempotency_key: str | None,
        request_id: str | None,
        log: Logger,
    ) -> CreateOutcome:
        if idempotency_key is None:
            return await self._create(caller, request, request_id, log)
        fingerprint = request_fingerprint(request)
        moment = self._now()
        stale_before = clock.iso(moment - timedelta(seconds=IN_FLIGHT_TAKEOVER_SECONDS))
        if not await self.keys.claim(caller.user_id, idempotency_key, fingerprint, clock.iso(moment), stale_before):
            return self._replay(await self.keys.get(caller.user_id, idempotency_key), fingerprint)
        try:
            return await self._create(caller, request, request_id, log, idempotency_key=idempotency_key)
        except BaseException:
            await self._release(caller.user_id, idempotency_key, log)
            raise

    async def _create(
        self,
        caller: Identity,
        request: CreateOrderRequest,
        request_id: str | None,
        log: Logger,
        *,
        idempotency_key: str | None = None,
    ) -> CreateOutcome:
        created_at = clock.iso(self._now())
        order = OrderRecord(
            id=clock.new_id("ord"),
            user_id=caller.user_id,
            status="pending",
            items=tuple(LineItem(item.sku, item.quantity, item.unit_price_cents) for item in request.items),
            total_cents=order_total(request),
            currency=request.currency,
            created_at=created_at,
            updated_at=created_at,
        )
        source = OrderEventSource(order.id, order.user_id, clock.new_id("evt"), request_id, created_at)
        body = order.public()
        statements = [self.orders.insert_statement(order, event_id=source.event_id, request_id=request_id)]
        if idempotency_key is not None:
            statements.append(self.keys.complete_statement(caller.user_id, idempotency_key, CREATED_STATUS, body))
        # The order and its replayable answer commit together, and neither for a closed account.
        inserted, *_ = await self.db.batch(statements)
        if inserted == 0:
            raise AccountClosed()
        log.info("order created", order_id=order.id, total_cents=order.total_cents, currency=order.currency)
        await self._publish(source, log)
        return CreateOutcome(CREATED_STATUS, body, replayed=False)

    async def _publish(self, source: OrderEventSource, log: Logger) -> None:
        """A failure is logged, not raised: the order exists and the sweeper re-publishes it."""
        try:
            await publish_order_created(self.orders, self.publisher, source, clock.iso(self._now()))
        except Exception as error:
            log.exception(
                "order.created not published; maintenance will re-publish it", error, order_id=source.order_id
            )

    async def _release(self, user_id: str, key: str, log: Logger) -> None:
        try:
            await self.keys.release(user_id, key)
        except Exception as error:
            log.exception("could not release idempotency key", error, user_id=user_id)

    @staticmethod
    def _replay(record: IdempotencyRecord | None, fingerprint: str) -> CreateOutcome:
        if record is None:  # released or forgotten between our claim and this read
            raise Conflict("A request with this Idempotency-Key is being processed; retry shortly")
        if record.request_hash != fingerprint:
            raise Unprocessable("This Idempotency-Key was used with a different request body")
        if record.state != "done" or record.response_status is None or record.response_body is None:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly")
        return CreateOutcome(record.response_status, json.loads(record.response_body), replayed=True)

    async def list_orders(self, caller: Identity, query: ListOrdersQuery) -> tuple[list[OrderRecord], str | None]:
        """One page, newest first, and the cursor of the next page (None on the last)."""
        owner = self._owner_filter(caller, query.user_id)
        after = page_after(query.cursor)
        rows = await self.orders.page(user_id=owner, status=query.status, after=after, limit=query.limit + 1)
        return page_of(rows, query.limit)

    @staticmethod
    def _owner_filter(caller: Identity, requested: str | None) -> str | None:
        """Admins see everyone's orders (or one user's); users only their own."""
        if caller.is_admin:
            return requested
        if requested is not None and requested != caller.user_id:
            raise Forbidden("Only admins may list other users' orders")
        return caller.user_id

    async def get(self, caller: Identity, order_id: str) -> OrderRecord:
        order = await self.orders.get(order_id)
        if order is None or not caller.may_see(order.user_id):
            raise NotFound("No such order")
        return order

    async def cancel(self, caller: Identity, order_id: str) -> OrderRecord:
        """One guarded UPDATE when it succeeds (a cancel's usual answer); only a refusal reads why.
        A closed account's own cancels are refused (its open orders are cancelled for it)."""
        owner = None if caller.is_admin else caller.user_id
        cancelled = await self.orders.cancel(order_id, clock.iso(self._now()), owner=owner)
        if cancelled is None:
            raise await self._refusal(caller, order_id)
        return cancelled

    async def _refusal(self, caller: Identity, order_id: str) -> Exception:
        """Why a cancel changed nothing: the account is closed, else the order is not the
        caller's to see (NotFound, raised), else it is no longer open."""
        if not caller.is_admin and await self.accounts.is_closed(caller.user_id):
            return AccountClosed()
        current = await self.get(caller, order_id)
        return Conflict(f"The order is {current.status}; only pending or confirmed orders can be cancelled")

    async def close_account(self, user_id: str) -> None:
        """From the moment this returns, no order is created for `user_id` (its DELETE is being answered)."""
        await self.accounts.close(user_id, clock.iso(self._now()))

    async def cancel_account_orders(self, user_id: str) -> int:
        """The erasure's first step: close the account (again: the gateway did before its 204) and
        cancel its open orders; how many this call cancelled (0 when repeated)."""
        now = clock.iso(self._now())
        await self.accounts.close(user_id, now)
        return await self.orders.cancel_open_for_user(user_id, now)

    async def erase_account_orders(self, user_id: str) -> int:
        """The erasure's last step: the account's orders keep their contents but no longer name it.

        They are kept under a random pseudonym (`erased_<hex>`, one per account), so they still
        count and still group by customer, but nothing links them to the deleted account.
        """
        pseudonym = f"erased_{secrets.token_hex(12)}"
        return await self.orders.erase_user(user_id, pseudonym, clock.iso(self._now()))

    # -- maintenance -------------------------------------------------------------

    def maintenance_tasks(self) -> dict[str, Task]:
        return {
            "expire_pending_orders": self.expire_pending_orders,
            "forget_idempotency_keys": self.forget_idempotency_keys,
            "republish_unpublished_orders": self.republish_unpublished_orders,
        }

    async def expire_pending_orders(self, now: datetime, counts: Counts) -> None:
        cutoff = now - timedelta(seconds=self.settings.pending_ttl_seconds)
        counts["orders_expired"] = await self.orders.expire_pending(clock.iso(cutoff), clock.iso(now))

    async def forget_idempotency_keys(self, now: datetime, counts: Counts) -> None:
        cutoff = now - timedelta(seconds=self.settings.idempotency_ttl_seconds)
        counts["idempotency_keys_forgotten"] = await self.keys.forget_older_than(clock.iso(cutoff))

    async def republish_unpublished_orders(self, now: datetime, counts: Counts) -> None:
        """Stops at the first send that fails (the queue is likely down); the next run goes on."""
        cutoff = now - timedelta(seconds=self.settings.republish_after_seconds)
        counts["events_republished"] = 0
        for source in await self.orders.unpublished(clock.iso(cutoff), self.settings.republish_batch):
            await publish_order_created(self.orders, self.publisher, source, clock.iso(self._now()))
            counts["events_republished"] += 1
