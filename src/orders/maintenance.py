"""The orders worker's scheduled maintenance, and its run summaries.

Each task runs on its own: one that fails is logged with its traceback and named in
the run's errors, the others still run, and the run's summary is always written
(GET /api/admin/maintenance-runs). The run itself does not raise for a failed task:
the summary is the report, and the next cron run simply tries again.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.dead_letters import require_admin
from orders.events import describe
from orders.repository import IdempotencyRepository, OrderRepository
from shared.maintenance_runs import MaintenanceRunRecord, MaintenanceRunRepository
from orders.service import publish_order_created
from shared import clock
from shared.adapters.d1 import Database
from shared.adapters.queue import EventPublisher
from shared.identity import Identity
from shared.logging import Logger
from contracts.maintenance import MaintenanceRun, MaintenanceRunPage

WORKER = "orders"
JOB = "orders-maintenance"
RECENT_RUNS = 50

Task = Callable[[datetime], Awaitable[int]]


@dataclass(frozen=True)
class MaintenanceSettings:
    pending_ttl_seconds: int = 86_400
    idempotency_ttl_seconds: int = 86_400
    # A pending order still unpublished after this long had its publish fail (requests
    # publish within seconds): the sweeper sends its order.created again.
    republish_after_seconds: int = 120
    republish_batch: int = 100


class OrdersMaintenance:
    def __init__(
        self,
        db: Database,
        publisher: EventPublisher,
        settings: MaintenanceSettings,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.orders = OrderRepository(db)
        self.keys = IdempotencyRepository(db)
        self.runs = MaintenanceRunRepository(db)
        self.publisher = publisher
        self.settings = settings
        self._now = now

    def tasks(self) -> dict[str, Task]:
        """Count name -> task; each task returns how many items it handled."""
        return {
            "orders_expired": self.expire_pending_orders,
            "idempotency_keys_forgotten": self.forget_idempotency_keys,
            "events_republished": self.republish_unpublished_orders,
        }

    async def run(self, cron: str, log: Logger) -> MaintenanceRunRecord:
        log = log.bind(job=JOB, cron=cron)
        started = self._now()
        counts: dict[str, int] = {}
        errors: list[str] = []
        for name, task in self.tasks().items():
            try:
                counts[name] = await task(started)
            except Exception as error:  # noqa: BLE001 - one task's failure must not stop the others
                errors.append(f"{name}: {describe(error)}")
                log.exception("maintenance task failed", error, task=name)
        run = MaintenanceRunRecord(
            clock.new_id("run"), WORKER, JOB, cron, clock.iso(started), clock.iso(self._now()), counts, errors
        )
        try:
            await self.runs.add(run)
        except Exception as error:
            log.exception("could not record the maintenance run", error, counts=counts, errors=errors)
            raise
        log.info("maintenance run done", counts=counts, errors=errors)
        return run

    async def expire_pending_orders(self, now: datetime) -> int:
        cutoff = now - timedelta(seconds=self.settings.pending_ttl_seconds)
        return await self.orders.expire_pending(clock.iso(cutoff), clock.iso(now))

    async def forget_idempotency_keys(self, now: datetime) -> int:
        cutoff = now - timedelta(seconds=self.settings.idempotency_ttl_seconds)
        return await self.keys.forget_older_than(clock.iso(cutoff))

    async def republish_unpublished_orders(self, now: datetime) -> int:
        """Stops at the first send that fails (the queue is likely down); the next run goes on."""
        cutoff = now - timedelta(seconds=self.settings.republish_after_seconds)
        sent = 0
        for source in await self.orders.unpublished(clock.iso(cutoff), self.settings.republish_batch):
            await publish_order_created(self.orders, self.publisher, source, clock.iso(self._now()))
            sent += 1
        return sent

    async def recent(self, caller: Identity, limit: int = RECENT_RUNS) -> MaintenanceRunPage:
        """This worker's latest runs, newest first; admins only."""
        require_admin(caller)
        runs = await self.runs.latest(WORKER, limit)
        return MaintenanceRunPage(items=[MaintenanceRun(**vars(run)) for run in runs])
