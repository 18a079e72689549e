"""Scheduled jobs and their run summaries (GET /api/admin/maintenance-runs).

Every run leaves a row, failed runs included: a job that dies is recorded with its
error and partial counts, logged with its traceback, then re-raised so the runtime
sees the failure too. Nothing here is specific to users: orders can use it as is.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime

from shared import clock
from shared.errors import Forbidden
from shared.identity import Identity
from shared.logging import Logger
from shared.maintenance_runs import MaintenanceRunRecord
from shared.maintenance_runs import MaintenanceRunRepository

Task = Callable[[dict[str, int]], Awaitable[None]]
RECENT_RUNS = 50
_MAX_ERROR_CHARS = 300


def describe(error: BaseException) -> str:
    """A short, admin-facing line: the error's type and message, no traceback."""
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR_CHARS]


class Maintenance:
    def __init__(self, runs: MaintenanceRunRepository, worker: str, now: Callable[[], datetime] = clock.now) -> None:
        self.runs = runs
        self.worker = worker
        self._now = now

    async def run(self, job: str, cron: str, task: Task, log: Logger) -> MaintenanceRunRecord:
        """Run `task(counts)` and record the run; the task's exception is re-raised after recording."""
        started_at = clock.iso(self._now())
        counts: dict[str, int] = {}
        errors: list[str] = []
        failure: Exception | None = None
        try:
            await task(counts)
        except Exception as error:  # noqa: BLE001 - recorded, logged, then re-raised below
            failure = error
            errors.append(describe(error))
            log.exception("maintenance job failed", error, job=job, cron=cron, counts=counts)
        run = MaintenanceRunRecord(
            clock.new_id("run"), self.worker, job, cron, started_at, clock.iso(self._now()), counts, errors
        )
        await self._record(run, log, failed=failure is not None)
        if failure is not None:
            raise failure
        log.info("maintenance job done", job=job, cron=cron, counts=counts)
        return run

    async def _record(self, run: MaintenanceRunRecord, log: Logger, *, failed: bool) -> None:
        """Store the summary; if that fails too, the job's own error is the one to raise."""
        try:
            await self.runs.add(run)
        except Exception as error:  # noqa: BLE001
            log.exception("could not record maintenance run", error, job=run.job, cron=run.cron)
            if not failed:
                raise

    async def recent(self, caller: Identity, limit: int = RECENT_RUNS) -> list[MaintenanceRunRecord]:
        """This worker's latest runs, newest first; admins only."""
        if not caller.is_admin:
            raise Forbidden("Only admins may read maintenance runs")
        return await self.runs.latest(self.worker, limit)
