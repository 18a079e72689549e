"""The scheduled purge and its run records."""

import json

import pytest

from shared.errors import Forbidden
from shared.logging import Logger
from shared.maintenance import MaintenanceFailed
from tests.unit.platform_limits import D1_QUERIES_FREE_PLAN, KV_OPERATIONS_PER_INVOCATION, LimitExceeded
from tests.unit.users_support import World, as_admin, as_user, run
from users.app import MAINTENANCE_JOB, WORKER
from users.service import PURGE_BATCH, PURGE_MAX_BATCHES, cache_key

CRON = "0 3 * * *"
NO_SESSIONS_FORGOTTEN = {"refresh_tokens_forgotten": 0, "login_counters_forgotten": 0}


def purge(world: World):
    return world.maintain(CRON)


def test_purge_hard_deletes_only_users_deleted_long_enough_ago() -> None:
    async def scenario() -> None:
        world = World()  # purge_after_seconds=3600
        old = [await world.register(f"old{i}@example.com") for i in range(2)]
        recent = await world.register("recent@example.com")
        live = await world.register("live@example.com")
        for user in old:
            await world.service.delete(user, user.user_id, "r")
        world.clock.advance(seconds=3601)
        await world.service.delete(recent, recent.user_id, "r")
        world.kv.values[cache_key(old[0].user_id)] = json.dumps({"stale": True})  # cached by a racing reader

        record = await purge(world)

        ids = {row["id"] for row in await world.db.all("SELECT id FROM users")}
        assert ids == {recent.user_id, live.user_id}
        assert record.counts == {"users_purged": 2, "cache_entries_deleted": 2, **NO_SESSIONS_FORGOTTEN}
        assert (
            record.errors == [] and record.job == MAINTENANCE_JOB and record.cron == CRON and record.worker == "users"
        )
        assert record.started_at <= record.finished_at
        assert cache_key(old[0].user_id) not in world.kv.values
        assert set(world.kv.deleted) >= {cache_key(u.user_id) for u in old}

    run(scenario())


def test_purge_goes_through_several_batches() -> None:
    async def scenario() -> None:
        world = World()
        admin = as_admin()
        for i in range(PURGE_BATCH + 5):
            user = await world.register(f"bulk{i}@example.com")
            await world.service.delete(admin, user.user_id, "r")
        world.clock.advance(hours=2)
        record = await purge(world)
        assert record.counts["users_purged"] == PURGE_BATCH + 5
        assert await world.db.first("SELECT COUNT(*) AS n FROM users") == {"n": 0}

    run(scenario())


def test_every_run_is_recorded_and_listed_newest_first_for_admins() -> None:
    async def scenario() -> None:
        world = World()
        first = await purge(world)
        world.clock.advance(days=1)
        second = await purge(world)
        runs = await world.maintenance.recent(as_admin())
        assert [r.id for r in runs] == [second.id, first.id]
        assert runs[1].public() == {
            "id": first.id,
            "worker": "users",
            "job": MAINTENANCE_JOB,
            "cron": CRON,
            "started_at": first.started_at,
            "finished_at": first.finished_at,
            "counts": {"users_purged": 0, "cache_entries_deleted": 0, **NO_SESSIONS_FORGOTTEN},
            "errors": [],
        }
        with pytest.raises(Forbidden):
            await world.maintenance.recent(as_user("usr_x"))

    run(scenario())


def test_recent_runs_are_capped_at_fifty() -> None:
    async def scenario() -> None:
        world = World()
        for _ in range(52):
            await purge(world)
        assert len(await world.maintenance.recent(as_admin())) == 50

    run(scenario())


def test_a_failing_task_is_recorded_logged_with_traceback_and_fails_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        world = World()
        user = await world.register("half@example.com")
        await world.service.delete(user, user.user_id, "r")
        world.clock.advance(hours=2)
        world.kv.fail_on = {"delete"}  # the D1 purge succeeds, then the cache step fails
        with pytest.raises(MaintenanceFailed, match="kv delete failed"):
            await purge(world)
        [record] = await world.maintenance.recent(as_admin())
        assert record.errors == ["purge_deleted_users: RuntimeError: kv delete failed"]
        # partial progress kept, and the other task still ran
        assert record.counts == {"users_purged": 1, "cache_entries_deleted": 0, **NO_SESSIONS_FORGOTTEN}

    run(scenario())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [failure] = [line for line in lines if line["message"] == "maintenance task failed"]
    assert failure["level"] == "error" and "Traceback" in failure["traceback"] and failure["job"] == MAINTENANCE_JOB


def test_a_failing_task_is_logged_even_if_recording_fails_too(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        world = World()

        async def broken(now, counts: dict[str, int]) -> None:
            await world.db.run("DROP TABLE maintenance_runs")
            raise ValueError("task broke")

        with pytest.raises(Exception, match="maintenance_runs"):
            await world.maintenance.run("x", CRON, {"broken": broken}, Logger(worker=WORKER))

    run(scenario())
    assert "task broke" in capsys.readouterr().out


def test_recording_failure_of_a_good_run_is_raised() -> None:
    async def scenario() -> None:
        world = World()
        await world.db.run("DROP TABLE maintenance_runs")
        with pytest.raises(Exception, match="maintenance_runs"):
            await purge(world)

    run(scenario())


def test_purge_stays_within_one_invocations_limits_at_any_backlog() -> None:
    """2,000 accounts waiting: each run does what the free plan's limits allow, the next runs the rest."""

    async def scenario() -> None:
        world = World()
        backlog = 2_000
        world.db.conn.executemany(
            "INSERT INTO users (id, email, name, role, password_hash, password_salt, password_iterations,"
            " created_at, updated_at, deleted_at) VALUES (?, ?, 'x', 'user', 'h', 's', 1, ?, ?, ?)",
            [(f"usr_{i:05}", f"u{i}@example.com", "2026-01-01", "2026-01-01", "2026-01-02") for i in range(backlog)],
        )
        purged_per_run = []
        while True:
            with world.db.invocation(D1_QUERIES_FREE_PLAN), world.kv.invocation(KV_OPERATIONS_PER_INVOCATION):
                record = await purge(world)
            purged_per_run.append(record.counts["users_purged"])
            if record.counts["users_purged"] < PURGE_MAX_BATCHES * PURGE_BATCH:
                break
        assert purged_per_run == [900, 900, 200]
        assert await world.db.first("SELECT COUNT(*) AS n FROM users") == {"n": 0}

    run(scenario())


def test_the_fakes_refuse_what_the_platform_refuses() -> None:
    """The limits above are real: an invocation over them fails here as it would on Cloudflare."""

    async def scenario() -> None:
        world = World()
        with pytest.raises(LimitExceeded), world.db.invocation(2):
            for _ in range(3):
                await world.db.first("SELECT 1 AS ok")
        with pytest.raises(LimitExceeded):
            await world.db.all("SELECT ?" + ", ?" * 100, *range(101))
        with pytest.raises(LimitExceeded):
            await world.kv.put("k", "{}", {"expirationTtl": 59})

    run(scenario())
