"""An in-memory KV binding, shaped like the SDK's wrapper of the real one, with KV's rules.

The services run over `shared.adapters.kv.WorkersKv` on top of it, exactly as in the
runtime, so the JSON round trip and the TTL floor are the adapter's, not the fake's:
values are stored as text, and a TTL under 60 s is refused as KV refuses it.
"""

from contextlib import AbstractContextManager
from typing import Any

from tests.unit.platform_limits import KV_MIN_TTL_SECONDS, KV_OPERATIONS_PER_INVOCATION, Budget, LimitExceeded


class FakeKvBinding:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.options: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.fail_on: set[str] = set()  # method names that raise, to test failure paths
        self.budget = Budget("KV operations")

    def invocation(self, limit: int = KV_OPERATIONS_PER_INVOCATION) -> AbstractContextManager[None]:
        return self.budget.invocation(limit)

    def _call(self, method: str) -> None:
        self.budget.spend()
        if method in self.fail_on:
            raise RuntimeError(f"kv {method} failed")

    async def get(self, key: str) -> str | None:
        self._call("get")
        return self.values.get(key)

    async def put(self, key: str, value: str, options: dict[str, Any] | None = None) -> None:
        self._call("put")
        if not isinstance(value, str):
            raise TypeError("this test binding stores text, as the adapter sends it")
        ttl = (options or {}).get("expirationTtl")
        if ttl is not None and ttl < KV_MIN_TTL_SECONDS:
            raise LimitExceeded(f"Invalid expiration_ttl of {ttl}; it must be at least {KV_MIN_TTL_SECONDS}")
        self.values[key] = value
        self.options[key] = dict(options or {})

    async def delete(self, key: str) -> None:
        self._call("delete")
        self.values.pop(key, None)
        self.deleted.append(key)
