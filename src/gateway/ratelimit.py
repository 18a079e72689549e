"""Rate limiting on the Workers rate-limiting binding, keyed by client address.

On Cloudflare `CF-Connecting-IP` is set by the edge and cannot be forged by the
client; the binding's counters are per Cloudflare location and eventually
consistent, which is what its docs promise and what a gateway guard needs.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from shared.adapters.jsvalues import js_binding, to_js_value, to_python
from shared.telemetry import awaited


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool: ...


class WorkersRateLimiter:
    def __init__(self, binding: Any) -> None:
        self._binding = js_binding(binding)

    async def allow(self, key: str) -> bool:
        outcome = to_python(await awaited(self._binding.limit(to_js_value({"key": key}))))
        return bool(outcome["success"])


def client_key(headers: Mapping[str, str]) -> str:
    return "ip:" + (headers.get("cf-connecting-ip") or "unknown")
