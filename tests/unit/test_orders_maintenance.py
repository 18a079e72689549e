"""The orders worker's scheduled maintenance and its run summaries."""

import pytest

from orders.app import MAINTENANCE_JOB as JOB
from orders.app import WORKER
from shared.errors import Forbidden
from shared.maintenance import MaintenanceFailed
from tests.unit.test_orders_support import World, as_admin, as_user, run

CRON = "*/15 * * * *"
ALICE = as_user("usr_alice")


def test_run_expires_stale_pending_orders_forgets_old_keys_and_records_counts() -> None:
    async def scenario() -> None:
        world = World()  # pending TTL 3600 s, idempotency TTL 600 s
        stale = [(await world.place(ALICE, key=f"old-{i}")).body["id"] for i in range(2)]
        confirmed_old = (await world.place(ALICE)).body["id"]
        await world.db.run("UPDATE orders SET status = 'confirmed' WHERE id = ?", confirmed_old)
        world.clock.advance(seconds=3100)
        fresh = (await world.place(ALICE, key="new")).body["id"]
        world.clock.advance(seconds=501)  # the first three are now 3601 s old, the last 501 s

        record = await world.maintain(CRON)

        assert record.counts == {"orders_expired": 2, "idempotency_keys_forgotten": 2, "events_republished": 0}
        assert record.errors == [] and (record.worker, record.job, record.cron) == (WORKER, JOB, CRON)
        assert record.started_at <= record.finished_at
        assert [await world.status_of(i) for i in stale] == ["expired", "expired"]
        assert await world.status_of(confirmed_old) == "confirmed" and await world.status_of(fresh) == "pending"
        assert await world.orders.keys.get(ALICE.user_id, "new") is not None

        # A forgotten key makes a new order; a second run finds nothing more to do.
        again = await world.place(ALICE, key="old-0")
        assert not again.replayed and again.body["id"] not in stale
        assert (await world.maintain(CRON)).counts["orders_expired"] == 0

    run(scenario())


def test_orders_whose_publish_failed_are_republished_with_their_original_event() -> None:
    async def scenario() -> None:
        world = World()
        world.order_events.fail = True
        lost = (await world.place(ALICE)).body["id"]
        world.order_events.fail = False
        sent = (await world.place(ALICE)).body["id"]
        event_id = (await world.db.first("SELECT event_id FROM orders WHERE id = ?", lost))["event_id"]

        too_soon = await world.maintain(CRON)  # a request may still be publishing: wait
        assert too_soon.counts["events_republished"] == 0
        world.clock.advance(seconds=world.settings.republish_after_seconds + 1)
        record = await world.maintain(CRON)

        assert record.counts["events_republished"] == 1
        republished = world.order_events.events[-1]
        assert republished["order_id"] == lost and republished["id"] == event_id
        assert [e["order_id"] for e in world.order_events.events] == [sent, lost]
        assert (await world.maintain(CRON)).counts["events_republished"] == 0

    run(scenario())


def test_a_failing_task_is_recorded_the_others_still_run_and_the_run_fails() -> None:
    async def scenario() -> None:
        world = World()
        await world.place(ALICE, key="k")
        world.clock.advance(seconds=3601)

        async def broken(_now, _counts):
            raise RuntimeError("D1 timed out")

        world.orders.expire_pending_orders = broken
        with pytest.raises(MaintenanceFailed, match="expire_pending_orders: RuntimeError: D1 timed out"):
            await world.maintain(CRON)

        [stored] = await world.maintenance.recent(as_admin())
        assert stored.errors == ["expire_pending_orders: RuntimeError: D1 timed out"]
        assert stored.counts == {"idempotency_keys_forgotten": 1, "events_republished": 0}

    run(scenario())


def test_runs_are_listed_newest_first_for_admins_only() -> None:
    async def scenario() -> None:
        world = World()
        first = await world.maintain(CRON)
        world.clock.advance(minutes=15)
        second = await world.maintain("0 * * * *")

        runs = await world.maintenance.recent(as_admin())
        assert [r.id for r in runs] == [second.id, first.id]
        assert runs[1].public() == {
            "id": first.id,
            "worker": "orders",
            "job": JOB,
            "cron": CRON,
            "started_at": first.started_at,
            "finished_at": first.finished_at,
            "counts": first.counts,
            "errors": [],
        }
        with pytest.raises(Forbidden):
            await world.maintenance.recent(ALICE)

    run(scenario())
