"""The `Database` protocol on real SQLite (D1's engine), for CPython tests of the services.

Migrations are applied from the same `services/*/migrations` files the runtime uses.
"""

import sqlite3
from pathlib import Path
from typing import Any

from shared.adapters.d1 import Row, Statement

ROOT = Path(__file__).resolve().parents[2]


class SqliteDatabase:
    def __init__(self, service: str) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        for migration in sorted((ROOT / "services" / service / "migrations").glob("*.sql")):
            self.conn.executescript(migration.read_text())

    async def all(self, sql: str, *params: Any) -> list[Row]:
        return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> int:
        return self.conn.execute(sql, params).rowcount

    async def batch(self, statements: list[Statement]) -> list[int]:
        changes = []
        self.conn.execute("BEGIN")
        try:
            for sql, params in statements:
                changes.append(self.conn.execute(sql, params).rowcount)
        except Exception:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return changes
