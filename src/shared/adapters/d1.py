"""D1 behind a small async SQL interface that a CPython SQLite implementation also meets.

Every statement's billable rows are counted from D1's own result `meta` (`rows_read`,
`rows_written`) into the current unit of work (shared.telemetry)."""

from typing import Any, Protocol

from shared.adapters.jsvalues import js_binding, to_js_value, to_python
from shared.telemetry import awaited, count

Row = dict[str, Any]
Statement = tuple[str, tuple[Any, ...]]


class Database(Protocol):
    async def all(self, sql: str, *params: Any) -> list[Row]: ...

    async def first(self, sql: str, *params: Any) -> Row | None: ...

    async def run(self, sql: str, *params: Any) -> int:
        """Execute one statement; the number of rows it changed."""
        ...

    async def batch(self, statements: list[Statement]) -> list[int]:
        """Execute statements in one transaction (all or nothing); rows changed by each."""
        ...


class D1(Database):
    """Over a D1 binding (`jsvalues` says why not through the SDK's wrapper)."""

    def __init__(self, binding: Any) -> None:
        self._db = js_binding(binding)

    def _prepare(self, sql: str, params: tuple[Any, ...]) -> Any:
        statement = self._db.prepare(sql)
        return statement.bind(*map(to_js_value, params)) if params else statement

    async def all(self, sql: str, *params: Any) -> list[Row]:
        result = to_python(await awaited(self._prepare(sql, params).all()))
        _count(result)
        return list(result["results"])

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> int:
        result = to_python(await awaited(self._prepare(sql, params).run()))
        _count(result)
        return int(result["meta"]["changes"])

    async def batch(self, statements: list[Statement]) -> list[int]:
        prepared = [self._prepare(sql, params) for sql, params in statements]
        results = to_python(await awaited(self._db.batch(to_js_value(prepared))))
        for result in results:
            _count(result)
        return [int(result["meta"]["changes"]) for result in results]


def _count(result: dict[str, Any]) -> None:
    """One statement's billable rows, as D1 reports them in its result's `meta`."""
    meta = result.get("meta") or {}
    count("d1_queries")
    count("d1_rows_read", int(meta.get("rows_read") or 0))
    count("d1_rows_written", int(meta.get("rows_written") or 0))
