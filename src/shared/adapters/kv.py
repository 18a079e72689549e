"""Workers KV as a small JSON cache.

KV is eventually consistent and its entries expire no sooner than 60 s after a
write, so it only ever holds copies that D1 can rebuild (cache-aside).
"""

import json
from functools import lru_cache
from typing import Any, Protocol

from shared.adapters.jsvalues import js_binding, to_js_value, to_python
from shared.http import encode_json
from shared.telemetry import awaited, count

MIN_TTL_SECONDS = 60


class KvCache(Protocol):
    async def get_json(self, key: str) -> dict[str, Any] | None:
        """The cached object, or None when absent, expired or unreadable."""
        ...

    async def put_json(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None: ...

    async def delete(self, key: str) -> None: ...


class WorkersKv(KvCache):
    """Over a KV binding (`jsvalues` says why not through the SDK's wrapper): `get` answers
    a str or null, `put` takes options."""

    def __init__(self, binding: Any) -> None:
        kv = js_binding(binding)
        self._get, self._put, self._delete = kv.get, kv.put, kv.delete  # looked up once, not per call

    async def get_json(self, key: str) -> dict[str, Any] | None:
        count("kv_reads")
        text = to_python(await awaited(self._get(key)))
        if not isinstance(text, str):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None  # a corrupt copy is a miss: D1 rebuilds it
        return value if isinstance(value, dict) else None

    async def put_json(self, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        text = encode_json(value)
        count("kv_writes")
        await awaited(self._put(key, text, _put_options(max(MIN_TTL_SECONDS, int(ttl_seconds)))))

    async def delete(self, key: str) -> None:
        count("kv_deletes")
        await awaited(self._delete(key))


@lru_cache(maxsize=16)
def _put_options(ttl_seconds: int) -> Any:
    """`put`'s options for a TTL, made once per TTL (a service uses one or two): KV only reads them."""
    return to_js_value({"expirationTtl": ttl_seconds})
