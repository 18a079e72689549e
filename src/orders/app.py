"""The orders worker wired from its env: services over the bindings, routes over the services.

`build_app` serves HTTP; `consume_batch` and `run_maintenance` are what the entry's
queue and scheduled handlers call. Everything here is plain Python over `env`, so
tests can pass a namespace of fakes.
"""

from dataclasses import dataclass
from typing import Any

from orders import routes
from orders.context import OrdersContext
from orders.dead_letters import DeadLetterService
from orders.events import EventConsumer, consume
from orders.maintenance import MaintenanceSettings, OrdersMaintenance
from orders.messages import ORDER_EVENTS_QUEUE, USER_EVENTS_QUEUE, Decision, QueueMessage
from orders.service import OrderService
from shared.adapters.d1 import D1, Database
from shared.adapters.queue import EventPublisher, QueuePublisher
from shared.adapters.webhook import Notifier, WebhookNotifier
from shared.app import WorkerApp
from shared.config import env_int, env_str
from contracts.internal import HEALTH_PATH
from shared.health import health_handler
from shared.http import Router
from shared.logging import Logger

WORKER = "orders"


@dataclass(frozen=True)
class OrdersServices:
    db: Database
    orders: OrderService
    events: EventConsumer
    dead_letters: DeadLetterService
    maintenance: OrdersMaintenance


def _publisher(env: Any, name: str) -> EventPublisher | None:
    binding = getattr(env, name, None)
    return QueuePublisher(binding) if binding is not None else None


def _notifier(env: Any) -> Notifier | None:
    """None when NOTIFY_WEBHOOK_URL is unset: orders are confirmed without a webhook."""
    url = env_str(env, "NOTIFY_WEBHOOK_URL").strip()
    return WebhookNotifier(url, env_str(env, "WEBHOOK_SECRET")) if url else None


def build_services(env: Any, db: Database | None = None) -> OrdersServices:
    db = db or D1(env.DB)
    order_events = _publisher(env, "ORDER_EVENTS")
    replay_targets = {ORDER_EVENTS_QUEUE: order_events, USER_EVENTS_QUEUE: _publisher(env, "USER_EVENTS")}
    settings = MaintenanceSettings(
        pending_ttl_seconds=env_int(env, "ORDER_PENDING_TTL_SECONDS", 86_400),
        idempotency_ttl_seconds=env_int(env, "IDEMPOTENCY_TTL_SECONDS", 86_400),
        republish_after_seconds=env_int(env, "ORDER_REPUBLISH_AFTER_SECONDS", 120),
    )
    return OrdersServices(
        db=db,
        orders=OrderService(db, order_events),
        events=EventConsumer(db, _notifier(env)),
        dead_letters=DeadLetterService(db, {q: p for q, p in replay_targets.items() if p is not None}),
        maintenance=OrdersMaintenance(db, order_events, settings),
    )


def build_router(db: Database) -> Router[OrdersContext]:
    router: Router[OrdersContext] = Router()
    router.add("GET", HEALTH_PATH, health_handler(WORKER, db))
    router.add("POST", "/api/orders", routes.create_order)
    router.add("GET", "/api/orders", routes.list_orders)
    router.add("GET", "/api/orders/{order_id}", routes.get_order)
    router.add("POST", "/api/orders/{order_id}/cancel", routes.cancel_order)
    router.add("GET", "/api/admin/dead-letters", routes.list_dead_letters)
    router.add("POST", "/api/admin/dead-letters/{letter_id}/replay", routes.replay_dead_letter)
    router.add("GET", "/api/admin/maintenance-runs", routes.list_maintenance_runs)
    return router


def build_app(env: Any, db: Database | None = None) -> WorkerApp[OrdersContext]:
    services = build_services(env, db)
    context = OrdersContext(services.orders, services.dead_letters, services.maintenance)
    return WorkerApp(WORKER, build_router(services.db), context)


async def consume_batch(
    env: Any, queue: str, messages: list[QueueMessage], db: Database | None = None
) -> list[Decision]:
    services = build_services(env, db)
    log = Logger(worker=WORKER).bind(queue=queue)
    return await consume(queue, messages, services.events, services.dead_letters, log)


async def run_maintenance(env: Any, cron: str, db: Database | None = None) -> None:
    await build_services(env, db).maintenance.run(cron, Logger(worker=WORKER))
