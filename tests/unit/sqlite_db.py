"""The `Database` protocol on real SQLite (D1's engine), for CPython tests of the services.

Migrations are applied from the same files the runtime uses (`services/*/migrations`, the
gateway's `migrations`), and
D1's limits hold: at most 100 bound parameters per statement, and inside
`invocation()` at most so many queries (each statement of a batch counts).
"""

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from shared.adapters.d1 import Row, Statement
from tests.unit.platform_limits import D1_MAX_BOUND_PARAMETERS, D1_QUERIES_FREE_PLAN, Budget, LimitExceeded

ROOT = Path(__file__).resolve().parents[2]


class SqliteDatabase:
    def __init__(self, worker: str) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        migrations = ROOT / "migrations" if worker == "gateway" else ROOT / "services" / worker / "migrations"
        for migration in sorted(migrations.glob("*.sql")):
            self.conn.executescript(migration.read_text())
        self.budget = Budget("D1 queries")

    def invocation(self, limit: int = D1_QUERIES_FREE_PLAN) -> AbstractContextManager[None]:
        """One worker invocation's query budget (the free plan's, unless told otherwise)."""
        return self.budget.invocation(limit)

    def _execute(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        if len(params) > D1_MAX_BOUND_PARAMETERS:
            raise LimitExceeded(f"{len(params)} bound parameters; D1 allows {D1_MAX_BOUND_PARAMETERS}")
        self.budget.spend()
        return self.conn.execute(sql, params)

    async def all(self, sql: str, *params: Any) -> list[Row]:
        return [dict(row) for row in self._execute(sql, params).fetchall()]

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> int:
        return self._execute(sql, params).rowcount

    async def batch(self, statements: list[Statement]) -> list[int]:
        changes = []
        self.conn.execute("BEGIN")
        try:
            for sql, params in statements:
                changes.append(self._execute(sql, params).rowcount)
        except Exception:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return changes
