"""A circuit breaker around each service binding, its state in KV.

Closed: calls go through; `threshold` consecutive failures (5xx, no answer, timeout)
within `window_seconds` open it. Open: the gateway answers 503 with Retry-After at
once, without calling, for `cooldown_seconds`. Then half-open: one call goes through as
a probe; success closes the breaker, failure opens it again.

Where the state lives (README, "Circuit breakers"): in KV, shared by every isolate of
the gateway, and read through a copy each isolate keeps for `refresh_seconds`. KV is
eventually consistent (other locations see a change within about a minute) and has no
compare-and-swap, so "one probe" is one per location at a time, not one worldwide; a
Durable Object would give both, at the cost of a call to one location on every request.
A KV read costs more than the request itself ($0.50 against $0.30 a million), so the
copy makes the breaker cost one read per isolate per `refresh_seconds` instead of one per
call; an isolate learns what another one recorded at most that much later, on top of
KV's own minute. Its own changes are written through at once, and a failure reads the
store afresh, so streaks still add up across isolates. The state is written only when
it changes.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from shared.adapters.kv import KvCache
from shared.adapters.services import ServiceClient, ServiceError
from shared.http import HttpResponse

State = Literal["closed", "open", "half-open"]
_KEY_PREFIX = "breaker:v1:"
_RECORD_TTL_SECONDS = 24 * 3600  # an idle record expires; a missing one reads as closed


@dataclass(frozen=True)
class BreakerPolicy:
    threshold: int = 5
    window_seconds: float = 60
    cooldown_seconds: float = 30
    refresh_seconds: float = 10  # how long an isolate trusts its copy of the shared state


@dataclass(frozen=True)
class BreakerRecord:
    state: State = "closed"
    failures: int = 0
    since: float = 0.0  # when the state (or the failure streak) began, epoch seconds


_CLOSED = BreakerRecord()  # closed and clean: what almost every call is admitted on


class Service(Protocol):
    """What the gateway's handlers call: a service binding as an HTTP client."""

    name: str

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b"", *, stream: bool = False
    ) -> HttpResponse: ...


class CircuitBreaker:
    def __init__(
        self, service: str, store: KvCache, policy: BreakerPolicy, now: Callable[[], float] = time.time
    ) -> None:
        self.service = service
        self._store = store
        self._policy = policy
        self._now = now
        self._copy: tuple[float, BreakerRecord] | None = None  # (read at, record): this isolate's copy

    @property
    def _key(self) -> str:
        return _KEY_PREFIX + self.service

    async def record(self, fresh: bool = False) -> BreakerRecord:
        """The shared state: this isolate's copy while it is younger than `refresh_seconds`
        (unless `fresh`), else read from the store."""
        now = self._now()
        if not fresh and self._copy is not None and now - self._copy[0] < self._policy.refresh_seconds:
            return self._copy[1]
        raw = await self._store.get_json(self._key)
        try:
            record = BreakerRecord(**raw) if raw else _CLOSED
        except TypeError:
            record = _CLOSED  # an unreadable record is a closed breaker
        self._copy = (now, record)
        return record

    async def _save(self, record: BreakerRecord) -> None:
        await self._store.put_json(self._key, asdict(record), _RECORD_TTL_SECONDS)
        self._copy = (self._now(), record)

    async def admit(self) -> BreakerRecord:
        """Let a call through (the record it was let through on), or raise 503 with the seconds until the next probe."""
        record = await self.record()
        now = self._now()
        if record.state == "closed":
            return record
        waited = now - record.since
        if waited < self._policy.cooldown_seconds:
            retry_after = max(1, round(self._policy.cooldown_seconds - waited))
            raise ServiceError(self.service, 503, f"{self.service} is failing; retry in {retry_after} s", retry_after)
        probe = BreakerRecord("half-open", record.failures, now)  # this call is the probe
        await self._save(probe)
        return probe

    async def succeeded(self, admitted: BreakerRecord) -> None:
        """Close the breaker, unless the record the call was admitted on shows it closed and clean.

        Trusting that record saves a KV read on every successful call; a failure another
        isolate recorded meanwhile is then cleared a call later than it could be.
        """
        if admitted != _CLOSED:
            await self._save(_CLOSED)

    async def failed(self) -> None:
        record = await self.record(fresh=True)  # other isolates' failures count in the streak
        now = self._now()
        streak = record.failures if now - record.since <= self._policy.window_seconds else 0
        since = record.since if streak else now
        if record.state == "half-open" or streak + 1 >= self._policy.threshold:
            await self._save(BreakerRecord("open", streak + 1, now))
        else:
            await self._save(BreakerRecord("closed", streak + 1, since))


class GuardedService:
    """A service client behind its breaker: the same `request`, failing fast when open."""

    def __init__(self, client: ServiceClient, breaker: CircuitBreaker) -> None:
        self.name = client.name
        self.client = client
        self.breaker = breaker

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b"", *, stream: bool = False
    ) -> HttpResponse:
        admitted = await self.breaker.admit()
        try:
            response = await self.client.request(method, path, headers, body, stream=stream)
        except ServiceError:
            await self.breaker.failed()
            raise
        await self.breaker.succeeded(admitted)
        return response

    async def state(self) -> dict[str, Any]:
        record = await self.breaker.record()
        return {"state": record.state, "failures": record.failures}
