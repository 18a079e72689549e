"""Scheduled maintenance, the same way in every worker: named tasks, one run summary.

A run calls each task in turn; a task that fails is logged with its traceback and
named in the run's errors, and the others still run. The summary is always written
(GET /api/admin/maintenance-runs). Then, if anything failed, the run raises
`MaintenanceFailed`, so the cron invocation ends as failed where operators look
(Cron Events, `wrangler tail`, the local runtime's cron door), and the next
scheduled run simply tries again: every task is idempotent.
"""

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from shared import clock
from shared.errors import describe
from shared.identity import Identity, require_admin
from shared.logging import Logger
from shared.maintenance_runs import MaintenanceRunRecord, MaintenanceRunRepository

# A task handles what is due at `now` and adds what it handled to `counts` as it goes,
# so a task that fails half way still reports the part it finished.
Counts = dict[str, int]
Task = Callable[[datetime, Counts], Awaitable[None]]
RECENT_RUNS = 50


class MaintenanceFailed(Exception):
    """Some tasks of a run failed; the run's summary, already recorded, names them."""


class Maintenance:
    def __init__(self, runs: MaintenanceRunRepository, worker: str, now: Callable[[], datetime] = clock.now) -> None:
        self.runs = runs
        self.worker = worker
        self._now = now

    async def run(self, job: str, cron: str, tasks: Mapping[str, Task], log: Logger) -> MaintenanceRunRecord:
        log = log.bind(job=job, cron=cron)
        started = self._now()
        counts: Counts = {}
        errors: list[str] = []
        for name, task in tasks.items():
            try:
                await task(started, counts)
            except Exception as error:
                errors.append(f"{name}: {describe(error)}")
                log.exception("maintenance task failed", error, task=name)
        run = MaintenanceRunRecord(
            clock.new_id("run"), self.worker, job, cron, clock.iso(started), clock.iso(self._now()), counts, errors
        )
        await self.runs.add(run)
        if errors:
            raise MaintenanceFailed(f"{job}: {len(errors)} task(s) failed: {'; '.join(errors)}")
        log.info("maintenance run done", counts=counts)
        return run

    async def recent(self, caller: Identity, limit: int = RECENT_RUNS) -> list[MaintenanceRunRecord]:
        """This worker's latest runs, newest first; admins only."""
        require_admin(caller, "read maintenance runs")
        return await self.runs.latest(self.worker, limit)
