"""The erasure workflow's steps and journal in CPython, on real SQLite, under a stand-in engine.

`Engine` keeps what the Workflows engine keeps between runs (each step's result, once it
succeeded) and retries a failing step up to its config's limit, as the engine does; the
end-to-end suite runs the same class on miniflare's real engine in Pyodide.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared.adapters.kv import WorkersKv
from shared.adapters.workflows import InstanceStatus
from shared.logging import Logger
from shared.telemetry import Telemetry
from tests.unit.users_support import World, as_admin, run
from users.erasure import STEPS, AccountErasure, ErasureParams, ErasureSteps, RetryPolicy
from users.service import cache_key


class Crash(BaseException):
    """The isolate died: the run stops where it is (the engine re-runs it later)."""


class Engine:
    """Step results kept across runs; attempts retried up to the step's limit; sleeps recorded."""

    def __init__(self, crash_at_sleep: bool = False) -> None:
        self.results: dict[str, Any] = {}
        self.sleeps: list[tuple[str, str]] = []
        self.crash_at_sleep = crash_at_sleep

    def do(self, name: str, *, config: dict[str, Any]) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
        def decorator(callback: Callable[..., Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
            async def wrapper() -> Any:
                if name in self.results:
                    return self.results[name]
                for attempt in range(1, config["retries"]["limit"] + 2):
                    try:
                        self.results[name] = await callback({"attempt": attempt, "step": {"name": name}})
                        return self.results[name]
                    except Exception:
                        if attempt > config["retries"]["limit"]:
                            raise
                raise AssertionError("unreachable")

            return wrapper

        return decorator

    async def sleep(self, name: str, duration: str) -> None:
        if self.crash_at_sleep:
            self.crash_at_sleep = False
            raise Crash
        self.sleeps.append((name, duration))


class Orders:
    """The orders service's erasure routes: `fail` calls of each raise (after their work if `after`)."""

    def __init__(self, fail: int = 0, after: bool = True) -> None:
        self.open = 2
        self.named = 3
        self.calls: list[str] = []
        self.fail, self.after = fail, after

    async def _call(self, what: str, work: Callable[[], int]) -> int:
        self.calls.append(what)
        result = work() if self.after or not self.fail else 0
        if self.fail:
            self.fail -= 1
            raise RuntimeError(f"orders failed ({what})")
        return result

    async def cancel_open_orders(self, user_id: str) -> int:
        def cancel() -> int:
            cancelled, self.open = self.open, 0
            return cancelled

        return await self._call("cancel", cancel)

    async def erase_orders(self, user_id: str) -> int:
        def erase() -> int:
            erased, self.named = self.named, 0
            return erased

        return await self._call("erase", erase)


RETRY = RetryPolicy(limit=2, delay_seconds=1)


async def deleted_account(world: World) -> ErasureParams:
    me = await world.register("erase-me@example.com")
    await world.service.get_user(me, me.user_id)  # cached
    await world.service.delete(me, me.user_id, "req-1")
    return ErasureParams.from_params(world.workflows.created[f"erase-{me.user_id}"])


def erasure(world: World, orders: Orders) -> AccountErasure:
    steps = ErasureSteps(world.journal, world.repo, WorkersKv(world.kv), orders, cache_key, world.clock)
    return AccountErasure(steps, world.journal, Telemetry("users", None), RETRY, Logger(worker="users"), world.clock)


def test_every_step_runs_once_in_order_and_the_account_is_gone() -> None:
    async def scenario() -> None:
        world, orders, engine = World(), Orders(), Engine()
        params = await deleted_account(world)
        result = await erasure(world, orders).run(params, engine)
        assert result == {"user_id": params.user_id, "orders_cancelled": 2, "orders_erased": 3}
        assert orders.calls == ["cancel", "erase"] and engine.sleeps == [("retention", "3600 seconds")]
        assert await world.db.first("SELECT 1 FROM users WHERE id = ?", params.user_id) is None
        assert cache_key(params.user_id) not in world.kv.values
        world.workflows.statuses[f"erase-{params.user_id}"] = InstanceStatus("complete", None)
        view = (await world.erasures.status(as_admin(), params.user_id)).public()
        assert view["status"] == "complete" and view["finished_at"] and view["error"] is None
        assert [(s["name"], s["status"], s["attempts"]) for s in view["steps"]] == [
            (name, "complete", 1) for name in STEPS
        ]

    run(scenario())


def test_a_step_that_fails_twice_succeeds_on_its_third_attempt_and_its_effect_happens_once() -> None:
    async def scenario() -> None:
        world, orders, engine = World(), Orders(fail=2, after=True), Engine()
        params = await deleted_account(world)
        result = await erasure(world, orders).run(params, engine)
        assert orders.calls == ["cancel", "cancel", "cancel", "erase"]
        assert result["orders_cancelled"] == 0  # the first attempt cancelled both; its answer was lost
        assert orders.open == 0
        [cancel] = [s for s in await world.journal.steps(params.user_id) if s.name == STEPS[0]]
        assert (cancel.status, cancel.attempts) == ("complete", 3)

    run(scenario())


def test_a_step_that_always_fails_errors_the_erasure_with_its_error() -> None:
    async def scenario() -> None:
        world, orders, engine = World(), Orders(fail=99), Engine()
        params = await deleted_account(world)
        with pytest.raises(RuntimeError, match="orders failed"):
            await erasure(world, orders).run(params, engine)
        assert orders.calls == ["cancel"] * (RETRY.limit + 1)
        world.workflows.statuses[f"erase-{params.user_id}"] = InstanceStatus("errored", "Error: orders failed")
        view = (await world.erasures.status(as_admin(), params.user_id)).public()
        assert view["status"] == "errored" and view["finished_at"] is not None
        assert view["error"] == "cancel open orders: RuntimeError: orders failed (cancel)"
        assert [s["status"] for s in view["steps"]] == ["errored", "pending", "pending", "pending"]
        assert view["steps"][0]["attempts"] == RETRY.limit + 1

    run(scenario())


def test_the_last_failed_attempt_journals_errored_once() -> None:
    """The attempt that spends the retries writes `errored`; run() sees the engine give up and
    does not write it again."""

    async def scenario() -> None:
        world, orders, engine = World(), Orders(fail=99), Engine()
        params = await deleted_account(world)
        settle, settled = world.journal.settle, []

        async def counted(user_id: str, step: str, status: str, now: str, error: str | None = None) -> None:
            settled.append((step, status))
            await settle(user_id, step, status, now, error)

        world.journal.settle = counted
        with pytest.raises(RuntimeError, match="orders failed"):
            await erasure(world, orders).run(params, engine)
        assert settled == [(STEPS[0], "running")] * RETRY.limit + [(STEPS[0], "errored")]

    run(scenario())


def test_a_run_that_dies_while_waiting_resumes_without_redoing_a_step() -> None:
    async def scenario() -> None:
        world, orders, engine = World(), Orders(), Engine(crash_at_sleep=True)
        params = await deleted_account(world)
        with pytest.raises(Crash):
            await erasure(world, orders).run(params, engine)
        world.workflows.statuses[f"erase-{params.user_id}"] = InstanceStatus("running", None)
        view = (await world.erasures.status(as_admin(), params.user_id)).public()
        assert view["status"] == "waiting" and [s["status"] for s in view["steps"]][:2] == ["complete", "waiting"]
        await erasure(world, orders).run(params, engine)  # the engine runs it again from the top
        assert orders.calls == ["cancel", "erase"]
        assert [s.attempts for s in await world.journal.steps(params.user_id)] == [1, 1, 1, 1]

    run(scenario())


def test_a_restart_after_the_retention_does_not_wait_again() -> None:
    async def scenario() -> None:
        world, orders, engine = World(), Orders(), Engine()
        params = await deleted_account(world)
        world.clock.advance(hours=2)
        await erasure(world, orders).run(params, engine)
        assert engine.sleeps == []

    run(scenario())
