"""Builders and fakes for the orders worker's CPython tests (no tests here).

Named test_orders_* only because that is the file pattern the orders team owns.
"""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from contracts.orders import CreateOrderRequest, ListOrdersQuery
from orders.app import MAINTENANCE_JOB, WORKER
from orders.dead_letters import DeadLetterService
from orders.domain import OrderRecord
from orders.events import EventConsumer
from orders.messages import ORDER_EVENTS_QUEUE, USER_EVENTS_QUEUE, QueueMessage
from orders.repository import DeadLetterRepository, DeliveryFailureRepository, IdempotencyRepository, OrderRepository
from orders.service import OrdersService, OrdersSettings
from shared.adapters.webhook import WebhookNotifier
from shared.identity import ADMIN, USER, Identity
from shared.logging import Logger
from shared.maintenance import Maintenance
from shared.maintenance_runs import MaintenanceRunRecord, MaintenanceRunRepository
from tests.unit.sqlite_db import SqliteDatabase

T = TypeVar("T")
LOG = Logger(worker="orders", test=True)
WEBHOOK_URL = "https://hooks.example.com/orders"
WEBHOOK_SECRET = "test-webhook-secret"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """pytest without pytest-asyncio: each test drives its coroutine to the end."""
    return asyncio.run(coroutine)


class Clock:
    """A settable clock; each reading advances 1 ms so timestamps stay distinct and ordered."""

    def __init__(self, start: datetime = datetime(2026, 9, 8, 12, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class MemoryPublisher:
    """An `EventPublisher` that keeps what it was sent; `fail` makes every send raise."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = False

    async def send(self, event: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("queue unavailable")
        self.events.append(event)


class WebhookReceiver:
    """A transport for `WebhookNotifier`: records each POST and answers `status` (or raises)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.error: Exception | None = None
        self.posts: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
        self.posts.append((url, body, headers))
        if self.error is not None:
            raise self.error
        return self.status, ""


class YieldingDatabase:
    """Wraps a database so every call yields to the event loop first: concurrent tasks
    interleave statement by statement, as two isolates hitting one D1 would."""

    def __init__(self, db: SqliteDatabase, batch_yields: int = 1) -> None:
        self.db = db
        self.batch_yields = batch_yields  # >1: transactions are slower than reads

    async def all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        return await self.db.all(sql, *params)

    async def first(self, sql: str, *params: Any) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        return await self.db.first(sql, *params)

    async def run(self, sql: str, *params: Any) -> int:
        await asyncio.sleep(0)
        return await self.db.run(sql, *params)

    async def batch(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        for _ in range(self.batch_yields):
            await asyncio.sleep(0)
        return await self.db.batch(statements)


@dataclass
class RuntimeMessage:
    """The runtime message surface the entry uses: id, body, attempts, ack(), retry(options)."""

    id: str
    body: Any
    attempts: int = 1
    outcome: tuple[str, Any] | None = None

    def ack(self) -> None:
        self.outcome = ("ack", None)

    def retry(self, options: dict[str, Any] | None = None) -> None:
        self.outcome = ("retry", options)


def order_body(*lines: tuple[str, int, int], currency: str = "EUR") -> CreateOrderRequest:
    items = [{"sku": sku, "quantity": qty, "unit_price_cents": price} for sku, qty, price in lines]
    return CreateOrderRequest.model_validate(
        {"items": items or [{"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}], "currency": currency}
    )


def as_user(user_id: str = "usr_alice") -> Identity:
    return Identity(user_id, USER)


def as_admin(user_id: str = "usr_admin") -> Identity:
    return Identity(user_id, ADMIN)


class Page(NamedTuple):
    items: list[OrderRecord]
    next_cursor: str | None


@dataclass
class World:
    """The orders worker's services on real SQLite, with in-memory queues and webhook."""

    db: Any = field(default_factory=lambda: SqliteDatabase("orders"))
    clock: Clock = field(default_factory=Clock)
    order_events: MemoryPublisher = field(default_factory=MemoryPublisher)
    user_events: MemoryPublisher = field(default_factory=MemoryPublisher)
    receiver: WebhookReceiver = field(default_factory=WebhookReceiver)
    webhook: bool = True
    settings: OrdersSettings = field(
        default_factory=lambda: OrdersSettings(pending_ttl_seconds=3600, idempotency_ttl_seconds=600)
    )

    def __post_init__(self) -> None:
        notifier = WebhookNotifier(WEBHOOK_URL, WEBHOOK_SECRET, self.receiver) if self.webhook else None
        orders, failures = OrderRepository(self.db), DeliveryFailureRepository(self.db)
        keys = IdempotencyRepository(self.db)
        self.orders = OrdersService(self.db, orders, keys, self.order_events, self.settings, self.clock)
        self.events = EventConsumer(orders, failures, notifier, self.orders.cancel_account_orders, self.clock)
        replay_targets = {ORDER_EVENTS_QUEUE: self.order_events, USER_EVENTS_QUEUE: self.user_events}
        self.dead_letters = DeadLetterService(DeadLetterRepository(self.db), failures, replay_targets, self.clock)
        self.maintenance = Maintenance(MaintenanceRunRepository(self.db), WORKER, self.clock)

    async def list_orders(self, caller: Identity, query: ListOrdersQuery) -> Page:
        return Page(*await self.orders.list_orders(caller, query))

    async def maintain(self, cron: str) -> MaintenanceRunRecord:
        """One scheduled run, as `orders.app.run_scheduled` does it."""
        return await self.maintenance.run(MAINTENANCE_JOB, cron, self.orders.maintenance_tasks(), LOG)

    async def place(
        self, caller: Identity | None = None, body: CreateOrderRequest | None = None, key: str | None = None
    ):
        return await self.orders.create(
            caller or as_user(), body or order_body(), idempotency_key=key, request_id="req-test", log=LOG
        )

    async def deliver(self, queue: str, body: dict[str, Any], attempts: int = 1, message_id: str = "msg-1"):
        return await self.events.handle(queue, QueueMessage(message_id, body, attempts), LOG)

    async def status_of(self, order_id: str) -> str:
        row = await self.db.first("SELECT status FROM orders WHERE id = ?", order_id)
        return row["status"]
