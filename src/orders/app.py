"""The orders worker's composition root: its env in; the context, the app, the queue and cron runs out.

Everything here is plain Python over `env`, so tests pass a namespace of fakes (and a
SQLite `db`) and run the same wiring the runtime does.
"""

from typing import Any

from orders.context import OrdersContext
from orders.dead_letters import DeadLetterService
from orders.events import EventConsumer, consume
from orders.messages import ORDER_EVENTS_QUEUE, USER_EVENTS_QUEUE, Decision, QueueMessage, queue_role
from orders.repository import DeadLetterRepository, DeliveryFailureRepository, IdempotencyRepository, OrderRepository
from orders.routes import build_router
from orders.service import OrdersService, OrdersSettings
from shared.adapters.analytics import telemetry_for
from shared.adapters.d1 import D1, Database
from shared.adapters.queue import EventPublisher, QueuePublisher
from shared.adapters.webhook import Notifier, WebhookNotifier
from shared.app import WorkerApp
from shared.config import env_int, env_str
from shared.logging import Logger
from shared.maintenance import Maintenance
from shared.maintenance_runs import MaintenanceRunRepository
from shared.routes import health_handler

WORKER = "orders"
MAINTENANCE_JOB = "orders-maintenance"


def settings_from(env: Any) -> OrdersSettings:
    return OrdersSettings(
        pending_ttl_seconds=env_int(env, "ORDER_PENDING_TTL_SECONDS", 86_400),
        idempotency_ttl_seconds=env_int(env, "IDEMPOTENCY_TTL_SECONDS", 86_400),
        republish_after_seconds=env_int(env, "ORDER_REPUBLISH_AFTER_SECONDS", 120),
    )


def _publisher(env: Any, name: str) -> EventPublisher | None:
    binding = getattr(env, name, None)
    return QueuePublisher(binding) if binding is not None else None


def _notifier(env: Any) -> Notifier | None:
    """None when NOTIFY_WEBHOOK_URL is unset: orders are confirmed without a webhook."""
    url = env_str(env, "NOTIFY_WEBHOOK_URL").strip()
    return WebhookNotifier(url, env_str(env, "WEBHOOK_SECRET")) if url else None


def build_context(env: Any, db: Database) -> OrdersContext:
    orders, failures = OrderRepository(db), DeliveryFailureRepository(db)
    order_events = QueuePublisher(env.ORDER_EVENTS)
    replay_targets = {ORDER_EVENTS_QUEUE: order_events, USER_EVENTS_QUEUE: _publisher(env, "USER_EVENTS")}
    service = OrdersService(db, orders, IdempotencyRepository(db), order_events, settings_from(env))
    return OrdersContext(
        orders=service,
        events=EventConsumer(orders, failures, _notifier(env), service.cancel_account_orders),
        dead_letters=DeadLetterService(
            DeadLetterRepository(db), failures, {q: p for q, p in replay_targets.items() if p is not None}
        ),
        maintenance=Maintenance(MaintenanceRunRepository(db), WORKER),
    )


def build_app(env: Any, db: Database | None = None) -> WorkerApp[OrdersContext]:
    db = db or D1(env.DB)
    router = build_router(health_handler(WORKER, db))
    return WorkerApp(WORKER, router, build_context(env, db), telemetry=telemetry_for(env, WORKER))


async def consume_batch(
    env: Any, queue: str, messages: list[QueueMessage], db: Database | None = None
) -> list[Decision]:
    queue = queue_role(queue, env_str(env, "QUEUE_NAME_SUFFIX"))
    ctx = build_context(env, db or D1(env.DB))
    log = Logger(worker=WORKER).bind(queue=queue)
    return await consume(queue, messages, ctx.events, ctx.dead_letters, log, telemetry_for(env, WORKER))


async def run_scheduled(env: Any, cron: str, db: Database | None = None) -> None:
    """The cron trigger: the maintenance tasks, with a run summary either way."""
    ctx = build_context(env, db or D1(env.DB))
    tasks = ctx.orders.maintenance_tasks()
    await telemetry_for(env, WORKER).run(
        cron, lambda: ctx.maintenance.run(MAINTENANCE_JOB, cron, tasks, Logger(worker=WORKER))
    )
