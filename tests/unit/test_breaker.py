"""The gateway's circuit breaker: opens on a streak of failures, fails fast, probes, closes."""

import pytest

from gateway.breaker import BreakerPolicy, BreakerRecord, CircuitBreaker, GuardedService
from shared.adapters.kv import WorkersKv
from shared.adapters.services import ServiceError
from shared.http import HttpResponse
from tests.unit.memory_kv import FakeKvBinding
from tests.unit.users_support import run

POLICY = BreakerPolicy(threshold=3, window_seconds=60, cooldown_seconds=30)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FlakyClient:
    """A service client whose next answers are scripted: an HttpResponse or a ServiceError status."""

    name = "orders"

    def __init__(self) -> None:
        self.failing = False
        self.calls = 0

    async def request(self, method, path, headers, body=b"", *, stream=False):
        self.calls += 1
        if self.failing:
            raise ServiceError("orders", 502, "orders failed")
        return HttpResponse(200, b"{}")


def guarded(kv: FakeKvBinding | None = None, clock: Clock | None = None) -> tuple[GuardedService, FlakyClient, Clock]:
    client, clock = FlakyClient(), clock or Clock()
    breaker = CircuitBreaker("orders", WorkersKv(kv or FakeKvBinding()), POLICY, clock)
    return GuardedService(client, breaker), client, clock  # type: ignore[arg-type]


async def opened() -> tuple[GuardedService, FlakyClient, Clock]:
    """A breaker just opened by a streak of `threshold` failures."""
    service, client, clock = guarded()
    client.failing = True
    for _ in range(POLICY.threshold):
        await call(service)
    return service, client, clock


async def call(service: GuardedService) -> int:
    try:
        return (await service.request("GET", "/x", {})).status
    except ServiceError as error:
        return error.status


def test_a_streak_of_failures_opens_it_and_it_fails_fast_with_retry_after() -> None:
    async def scenario() -> None:
        service, client, clock = guarded()
        client.failing = True
        assert [await call(service) for _ in range(3)] == [502, 502, 502]
        assert (await service.breaker.record()).state == "open"
        clock.now += 10
        with pytest.raises(ServiceError) as refused:
            await service.request("GET", "/x", {})
        assert refused.value.status == 503 and refused.value.retry_after == 20
        assert client.calls == 3  # the open breaker did not call

    run(scenario())


def test_after_the_cooldown_one_probe_goes_through_and_success_closes_it() -> None:
    async def scenario() -> None:
        service, client, clock = await opened()
        clock.now += 31
        client.failing = False
        assert await call(service) == 200
        assert await service.breaker.record() == BreakerRecord()

    run(scenario())


def test_a_failed_probe_opens_it_again() -> None:
    async def scenario() -> None:
        service, _, clock = await opened()
        clock.now += 31
        assert await call(service) == 502  # the probe
        record = await service.breaker.record()
        assert record.state == "open" and record.since == clock.now
        assert await call(service) == 503

    run(scenario())


def test_failures_spread_beyond_the_window_do_not_open_it_and_a_success_resets_the_streak() -> None:
    async def scenario() -> None:
        service, client, clock = guarded()
        client.failing = True
        await call(service)
        await call(service)
        clock.now += 61
        await call(service)  # a new streak of one
        assert (await service.breaker.record()).state == "closed"
        client.failing = False
        await call(service)
        assert await service.breaker.record() == BreakerRecord()

    run(scenario())


def test_state_is_shared_through_the_store_not_kept_in_memory() -> None:
    async def scenario() -> None:
        kv, clock = FakeKvBinding(), Clock()
        first, client, _ = guarded(kv, clock)
        client.failing = True
        for _ in range(3):
            await call(first)
        second, other_client, _ = guarded(kv, clock)  # another isolate: a new breaker, the same KV
        assert await call(second) == 503 and other_client.calls == 0

    run(scenario())


def test_a_healthy_service_costs_one_kv_read_per_isolate_per_refresh_and_no_writes() -> None:
    async def scenario() -> None:
        kv, clock = FakeKvBinding(), Clock()
        service, _, _ = guarded(kv, clock)
        with kv.invocation(limit=1):  # the first call reads the shared state once
            assert await call(service) == 200
        for _ in range(5):
            with kv.invocation(limit=0):  # within refresh_seconds: the isolate's copy, no KV operation
                assert await call(service) == 200
        clock.now += POLICY.refresh_seconds
        with kv.invocation(limit=1):
            assert await call(service) == 200
        assert kv.values == {}

    run(scenario())


def test_another_isolates_opening_is_seen_within_the_refresh_interval() -> None:
    async def scenario() -> None:
        kv, clock = FakeKvBinding(), Clock()
        watcher, watcher_client, _ = guarded(kv, clock)
        assert await call(watcher) == 200  # its copy: closed
        failing, client, _ = guarded(kv, clock)
        client.failing = True
        for _ in range(POLICY.threshold):
            await call(failing)
        assert await call(watcher) == 200 and watcher_client.calls == 2  # still its copy
        clock.now += POLICY.refresh_seconds
        assert await call(watcher) == 503 and watcher_client.calls == 2  # read again: open

    run(scenario())
