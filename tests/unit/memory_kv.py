"""An in-memory `KvCache` for CPython tests (the runtime uses shared.adapters.kv.WorkersKv)."""

import copy
from typing import Any

from shared.adapters.kv import MIN_TTL_SECONDS, KvCache


class MemoryKv(KvCache):
    """Stores deep copies (as KV stores text) and records each TTL asked for; expiry is not simulated."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.ttls: dict[str, int] = {}
        self.deleted: list[str] = []
        self.fail_on: set[str] = set()  # method names that raise, to test failure paths

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail_on:
            raise RuntimeError(f"kv {method} failed")

    async def get_json(self, key: str) -> dict[str, Any] | None:
        self._maybe_fail("get_json")
        value = self.entries.get(key)
        return copy.deepcopy(value) if value is not None else None

    async def put_json(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        self._maybe_fail("put_json")
        self.entries[key] = copy.deepcopy(value)
        self.ttls[key] = max(MIN_TTL_SECONDS, ttl_seconds)

    async def delete(self, key: str) -> None:
        self._maybe_fail("delete")
        self.entries.pop(key, None)
        self.deleted.append(key)
