"""The users cron: the sweep of stuck erasures, the session clean-up, and their run records."""

import json

import pytest

from shared.adapters.workflows import InstanceStatus
from shared.errors import Forbidden
from shared.logging import Logger
from shared.maintenance import MaintenanceFailed
from tests.unit.platform_limits import LimitExceeded
from tests.unit.users_support import World, as_admin, as_user, run
from users.app import MAINTENANCE_JOB, WORKER
from users.erasure import SWEEP_BATCH

CRON = "0 3 * * *"
NOTHING_SWEPT = {"erasures_restarted": 0, "erasures_started": 0}
NO_SESSIONS_FORGOTTEN = {"refresh_tokens_forgotten": 0, "login_counters_forgotten": 0}


def sweep(world: World):
    return world.maintain(CRON)


def test_the_sweep_restarts_errored_erasures_and_recreates_missing_ones_only() -> None:
    async def scenario() -> None:
        world = World()  # purge_after_seconds=3600
        users = [await world.register(f"gone{i}@example.com") for i in range(4)]
        for user in users:
            await world.service.delete(user, user.user_id, "r")
        errored, missing, running, complete = (f"erase-{u.user_id}" for u in users)
        world.workflows.statuses[errored] = InstanceStatus("errored", "Error: orders failed")
        del world.workflows.statuses[missing], world.workflows.created[missing]
        world.workflows.statuses[running] = InstanceStatus("waiting", None)
        await world.journal.finish(users[3].user_id, "2026-09-08T12:00:01.000Z")
        world.clock.advance(hours=26)  # every unfinished one is overdue now

        record = await sweep(world)

        assert world.workflows.restarted == [errored] and missing in world.workflows.created
        assert world.workflows.created[missing]["user_id"] == users[1].user_id
        assert complete not in world.workflows.restarted
        assert record.counts == {"erasures_restarted": 2, "erasures_started": 0, **NO_SESSIONS_FORGOTTEN}
        assert record.errors == [] and record.job == MAINTENANCE_JOB and record.cron == CRON

    run(scenario())


def test_an_errored_erasure_is_restarted_before_it_is_overdue() -> None:
    async def scenario() -> None:
        world = World()
        user = await world.register("early@example.com")
        await world.service.delete(user, user.user_id, "r")
        await world.journal.attempt(user.user_id, "cancel open orders", "2026-09-08T12:00:01.000Z")
        await world.journal.settle(user.user_id, "cancel open orders", "errored", "2026-09-08T12:00:02.000Z", "x")
        world.workflows.statuses[f"erase-{user.user_id}"] = InstanceStatus("errored", "Error: x")
        assert (await sweep(world)).counts["erasures_restarted"] == 1
        assert world.workflows.restarted == [f"erase-{user.user_id}"]

    run(scenario())


def test_the_sweep_starts_erasures_for_accounts_deleted_before_erasures_existed() -> None:
    async def scenario() -> None:
        world = World()
        world.db.conn.executemany(
            "INSERT INTO users (id, email, name, role, password_hash, password_salt, password_iterations,"
            " created_at, updated_at, deleted_at) VALUES (?, ?, 'x', 'user', 'h', 's', 1, ?, ?, ?)",
            [(f"usr_{i:05}", f"u{i}@example.com", "2026-01-01", "2026-01-01", "2026-01-02") for i in range(25)],
        )
        first = await sweep(world)
        second = await sweep(world)
        assert first.counts["erasures_started"] == SWEEP_BATCH and second.counts["erasures_started"] == 25 - SWEEP_BATCH
        assert len(world.workflows.created) == 25
        assert world.workflows.created["erase-usr_00000"]["deleted_at"] == "2026-01-02"
        assert (await sweep(world)).counts == {**NOTHING_SWEPT, **NO_SESSIONS_FORGOTTEN}

    run(scenario())


def test_every_run_is_recorded_and_listed_newest_first_for_admins() -> None:
    async def scenario() -> None:
        world = World()
        first = await sweep(world)
        world.clock.advance(days=1)
        second = await sweep(world)
        runs = await world.maintenance.recent(as_admin())
        assert [r.id for r in runs] == [second.id, first.id]
        assert runs[1].public() == {
            "id": first.id,
            "worker": "users",
            "job": MAINTENANCE_JOB,
            "cron": CRON,
            "started_at": first.started_at,
            "finished_at": first.finished_at,
            "counts": {**NOTHING_SWEPT, **NO_SESSIONS_FORGOTTEN},
            "errors": [],
        }
        with pytest.raises(Forbidden):
            await world.maintenance.recent(as_user("usr_x"))

    run(scenario())


def test_recent_runs_are_capped_at_fifty() -> None:
    async def scenario() -> None:
        world = World()
        for _ in range(52):
            await sweep(world)
        assert len(await world.maintenance.recent(as_admin())) == 50

    run(scenario())


def test_a_failing_task_is_recorded_logged_with_traceback_and_fails_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        world = World()
        world.db.conn.execute(
            "INSERT INTO users (id, email, name, role, password_hash, password_salt, password_iterations,"
            " created_at, updated_at, deleted_at) VALUES ('usr_old', 'o@example.com', 'x', 'user', 'h', 's', 1,"
            " '2026-01-01', '2026-01-01', '2026-01-02')"
        )
        world.workflows.fail = True
        with pytest.raises(MaintenanceFailed, match="workflows unavailable"):
            await sweep(world)
        [record] = await world.maintenance.recent(as_admin())
        assert record.errors == ["restart_stuck_erasures: RuntimeError: workflows unavailable"]
        # the other task still ran
        assert record.counts == {**NOTHING_SWEPT, **NO_SESSIONS_FORGOTTEN}

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
            await sweep(world)

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
