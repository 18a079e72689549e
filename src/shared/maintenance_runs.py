"""The maintenance_runs table that every worker with cron triggers keeps in its own
database: one summary row per scheduled run, listed newest first for admins."""

import json
from dataclasses import dataclass
from typing import Any

from shared.adapters.d1 import Database, Row
from shared.http import encode_json


@dataclass(frozen=True)
class MaintenanceRunRecord:
    id: str
    worker: str
    job: str
    cron: str
    started_at: str
    finished_at: str
    counts: dict[str, int]
    errors: list[str]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "worker": self.worker,
            "job": self.job,
            "cron": self.cron,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counts": dict(self.counts),
            "errors": list(self.errors),
        }


def _run(row: Row) -> MaintenanceRunRecord:
    return MaintenanceRunRecord(
        id=row["id"],
        worker=row["worker"],
        job=row["job"],
        cron=row["cron"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        counts=json.loads(row["counts"]),
        errors=json.loads(row["errors"]),
    )


class MaintenanceRunRepository:
    """The maintenance_runs table; the same shape in every worker's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, run: MaintenanceRunRecord) -> None:
        await self.db.run(
            "INSERT INTO maintenance_runs (id, worker, job, cron, started_at, finished_at, counts, errors) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            run.id,
            run.worker,
            run.job,
            run.cron,
            run.started_at,
            run.finished_at,
            encode_json(run.counts),
            encode_json(run.errors),
        )

    async def latest(self, worker: str, limit: int) -> list[MaintenanceRunRecord]:
        rows = await self.db.all(
            "SELECT id, worker, job, cron, started_at, finished_at, counts, errors FROM maintenance_runs "
            "WHERE worker = ? ORDER BY started_at DESC, id DESC LIMIT ?",
            worker,
            limit,
        )
        return [_run(row) for row in rows]
