"""D1 behind a small async SQL interface that a CPython SQLite implementation also meets."""

from typing import Any, Protocol

from shared.adapters.jsvalues import js_binding, to_js_value, to_python

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
        result = to_python(await self._prepare(sql, params).all())
        return list(result["results"])

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> int:
        result = to_python(await self._prepare(sql, params).run())
        return int(result["meta"]["changes"])

    async def batch(self, statements: list[Statement]) -> list[int]:
        prepared = [self._prepare(sql, params) for sql, params in statements]
        results = to_python(await self._db.batch(to_js_value(prepared)))
        return [int(result["meta"]["changes"]) for result in results]
