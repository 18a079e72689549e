"""Placing, listing, reading and cancelling orders; Idempotency-Key; publishing order.created."""

import asyncio
import json

import pytest

from contracts.orders import CreateOrderRequest, ListOrdersQuery
from orders.messages import USER_EVENTS_QUEUE
from orders.repository import IdempotencyRepository
from orders.service import IN_FLIGHT_TAKEOVER_SECONDS, AccountClosed, request_fingerprint
from shared import clock
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from tests.unit.sqlite_db import SqliteDatabase
from tests.unit.test_orders_support import World, YieldingDatabase, as_admin, as_user, order_body, run

ALICE = as_user("usr_alice")
BOB = as_user("usr_bob")


def query(**params) -> ListOrdersQuery:
    return ListOrdersQuery.model_validate({k: str(v) for k, v in params.items()})


# -- creating ---------------------------------------------------------------------------


def test_create_stores_a_pending_order_with_a_server_computed_total_and_publishes_order_created() -> None:
    async def scenario() -> None:
        world = World()
        outcome = await world.place(ALICE, order_body(("A-1", 2, 150), ("B-2", 1, 99), currency="USD"))

        assert outcome.status == 201 and not outcome.replayed
        order = outcome.body
        assert order["status"] == "pending" and order["total_cents"] == 399 and order["currency"] == "USD"
        assert order["user_id"] == ALICE.user_id and order["created_at"] == order["updated_at"]
        assert order["items"][0] == {"sku": "A-1", "quantity": 2, "unit_price_cents": 150}
        assert (await world.orders.get(ALICE, order["id"])).public() == order

        [event] = world.order_events.events
        assert event["type"] == "order.created" and event["order_id"] == order["id"]
        assert event["user_id"] == ALICE.user_id and event["request_id"] == "req-test"
        assert event["occurred_at"] == order["created_at"] and event["id"].startswith("evt_")
        row = await world.db.first("SELECT event_id, published_at FROM orders WHERE id = ?", order["id"])
        assert row["event_id"] == event["id"] and row["published_at"] is not None

    run(scenario())


def test_a_failed_publish_keeps_the_order_and_leaves_it_for_the_sweeper() -> None:
    async def scenario() -> None:
        world = World()
        world.order_events.fail = True
        outcome = await world.place(ALICE)

        assert outcome.status == 201
        row = await world.db.first("SELECT status, published_at FROM orders WHERE id = ?", outcome.body["id"])
        assert row == {"status": "pending", "published_at": None}

    run(scenario())


# -- Idempotency-Key -------------------------------------------------------------------


def test_same_key_same_body_replays_the_first_answer_without_a_second_order() -> None:
    async def scenario() -> None:
        world = World()
        first = await world.place(ALICE, order_body(("A-1", 1, 500)), key="k-1")
        # The same order written differently (other key order) is the same canonical body.
        same = CreateOrderRequest.model_validate(
            {"currency": "EUR", "items": [{"unit_price_cents": 500, "quantity": 1, "sku": "A-1"}]}
        )
        again = await world.place(ALICE, same, key="k-1")

        assert again.replayed and not first.replayed
        assert (again.status, again.body) == (first.status, first.body)
        assert (await world.db.first("SELECT count(*) AS n FROM orders"))["n"] == 1
        assert len(world.order_events.events) == 1

    run(scenario())


def test_the_replay_is_the_first_answer_even_after_the_order_changed() -> None:
    async def scenario() -> None:
        world = World()
        first = await world.place(ALICE, key="k-1")
        await world.orders.cancel(ALICE, first.body["id"])
        again = await world.place(ALICE, key="k-1")
        assert again.body == first.body and again.body["status"] == "pending"

    run(scenario())


def test_same_key_other_body_is_unprocessable() -> None:
    async def scenario() -> None:
        world = World()
        await world.place(ALICE, order_body(("A-1", 1, 500)), key="k-1")
        with pytest.raises(Unprocessable):
            await world.place(ALICE, order_body(("A-1", 2, 500)), key="k-1")

    run(scenario())


def test_keys_are_per_caller() -> None:
    async def scenario() -> None:
        world = World()
        mine = await world.place(ALICE, key="shared-key")
        theirs = await world.place(BOB, order_body(("Z", 9, 9)), key="shared-key")
        assert not theirs.replayed and theirs.body["id"] != mine.body["id"]

    run(scenario())


def test_same_key_still_in_flight_is_a_conflict() -> None:
    async def scenario() -> None:
        world = World()
        body = order_body()
        now = clock.iso(world.clock())
        assert await world.orders.keys.claim(ALICE.user_id, "k-1", request_fingerprint(body), now, now)
        with pytest.raises(Conflict):
            await world.place(ALICE, body, key="k-1")
        assert (await world.db.first("SELECT count(*) AS n FROM orders"))["n"] == 0

    run(scenario())


def test_an_in_flight_key_abandoned_by_a_dead_request_is_taken_over_after_a_while() -> None:
    async def scenario() -> None:
        world = World()
        body = order_body()
        now = clock.iso(world.clock())
        await world.orders.keys.claim(ALICE.user_id, "k-1", request_fingerprint(body), now, now)
        world.clock.advance(seconds=IN_FLIGHT_TAKEOVER_SECONDS + 1)
        with pytest.raises(Unprocessable):  # a takeover still requires the same body
            await world.place(ALICE, order_body(("OTHER", 1, 1)), key="k-1")
        outcome = await world.place(ALICE, body, key="k-1")
        assert outcome.status == 201 and not outcome.replayed

    run(scenario())


def test_two_concurrent_claims_of_one_key_have_exactly_one_winner() -> None:
    async def scenario() -> None:
        keys = IdempotencyRepository(YieldingDatabase(SqliteDatabase("orders")))
        now = "2026-09-08T12:00:00.000Z"
        results = await asyncio.gather(*(keys.claim("usr_alice", "k-1", "h", now, now) for _ in range(5)))
        assert sorted(results) == [False, False, False, False, True]

    run(scenario())


@pytest.mark.parametrize(("batch_yields", "losers"), [(1, "replayed"), (3, "Conflict")])
def test_concurrent_duplicate_creates_make_one_order(batch_yields: int, losers: str) -> None:
    """The losers see the winner's answer if it finished first (replay), else 409."""

    async def scenario() -> None:
        world = World(db=YieldingDatabase(SqliteDatabase("orders"), batch_yields))
        results = await asyncio.gather(*(world.place(ALICE, key="k-1") for _ in range(3)), return_exceptions=True)

        outcomes = [
            type(r).__name__ if isinstance(r, Exception) else ("replayed" if r.replayed else "created") for r in results
        ]
        assert outcomes == ["created", losers, losers]
        assert (await world.db.first("SELECT count(*) AS n FROM orders"))["n"] == 1
        assert len(world.order_events.events) == 1

    run(scenario())


def test_a_failed_create_releases_the_key_so_a_retry_can_succeed() -> None:
    async def scenario() -> None:
        world = World()
        real_batch = world.db.batch

        async def broken_batch(statements):
            raise RuntimeError("D1 unavailable")

        world.db.batch = broken_batch
        with pytest.raises(RuntimeError):
            await world.place(ALICE, key="k-1")
        assert await world.orders.keys.get(ALICE.user_id, "k-1") is None

        world.db.batch = real_batch
        outcome = await world.place(ALICE, key="k-1")
        assert outcome.status == 201 and not outcome.replayed
        assert (await world.orders.keys.get(ALICE.user_id, "k-1")).state == "done"

    run(scenario())


# -- listing ---------------------------------------------------------------------------


async def place_many(world: World) -> dict[str, list[str]]:
    """Alice 5 orders, Bob 2, interleaved in time; ids by owner, oldest first."""
    placed: dict[str, list[str]] = {ALICE.user_id: [], BOB.user_id: []}
    for caller in (ALICE, BOB, ALICE, ALICE, BOB, ALICE, ALICE):
        placed[caller.user_id].append((await world.place(caller)).body["id"])
    return placed


def test_users_see_only_their_own_orders_newest_first() -> None:
    async def scenario() -> None:
        world = World()
        placed = await place_many(world)
        page = await world.list_orders(ALICE, query())
        assert [o.id for o in page.items] == placed[ALICE.user_id][::-1]
        assert page.next_cursor is None

    run(scenario())


def test_cursor_pages_walk_every_order_once_in_order() -> None:
    async def scenario() -> None:
        world = World()
        placed = await place_many(world)
        seen, cursor = [], None
        while True:
            page = await world.list_orders(ALICE, query(limit=2, **({"cursor": cursor} if cursor else {})))
            seen += [o.id for o in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
            assert len(page.items) == 2
        assert seen == placed[ALICE.user_id][::-1]

    run(scenario())


def test_keyset_breaks_created_at_ties_by_id() -> None:
    async def scenario() -> None:
        world = World()
        for i in range(4):
            outcome = await world.place(ALICE)
            await world.db.run(
                "UPDATE orders SET created_at = ?, id = ? WHERE id = ?",
                "2026-01-01T00:00:00.000Z",
                f"ord_{i:024x}",
                outcome.body["id"],
            )
        first = await world.list_orders(ALICE, query(limit=2))
        second = await world.list_orders(ALICE, query(limit=2, cursor=first.next_cursor))
        assert [o.id for o in first.items + second.items] == [f"ord_{i:024x}" for i in (3, 2, 1, 0)]

    run(scenario())


def test_status_filter_and_admin_views() -> None:
    async def scenario() -> None:
        world = World()
        placed = await place_many(world)
        await world.orders.cancel(ALICE, placed[ALICE.user_id][0])

        cancelled = await world.list_orders(ALICE, query(status="cancelled"))
        assert [o.id for o in cancelled.items] == [placed[ALICE.user_id][0]]

        everyone = await world.list_orders(as_admin(), query(limit=100))
        assert len(everyone.items) == 7
        assert [o.created_at for o in everyone.items] == sorted((o.created_at for o in everyone.items), reverse=True)

        bobs = await world.list_orders(as_admin(), query(user_id=BOB.user_id))
        assert [o.id for o in bobs.items] == placed[BOB.user_id][::-1]

    run(scenario())


def test_a_user_may_not_list_someone_elses_orders() -> None:
    async def scenario() -> None:
        world = World()
        await place_many(world)
        with pytest.raises(Forbidden):
            await world.list_orders(ALICE, query(user_id=BOB.user_id))
        own = await world.list_orders(ALICE, query(user_id=ALICE.user_id))
        assert {o.user_id for o in own.items} == {ALICE.user_id}

    run(scenario())


# -- reading and cancelling -------------------------------------------------------------


def test_orders_are_visible_to_their_owner_and_admins_only() -> None:
    async def scenario() -> None:
        world = World()
        order_id = (await world.place(ALICE)).body["id"]
        assert (await world.orders.get(ALICE, order_id)).id == order_id
        assert (await world.orders.get(as_admin(), order_id)).id == order_id
        for caller, wanted in ((BOB, order_id), (ALICE, "ord_missing")):
            with pytest.raises(NotFound):
                await world.orders.get(caller, wanted)

    run(scenario())


@pytest.mark.parametrize("status", ["pending", "confirmed"])
def test_open_orders_can_be_cancelled_by_owner_or_admin(status: str) -> None:
    async def scenario() -> None:
        world = World()
        for caller in (ALICE, as_admin()):
            order_id = (await world.place(ALICE)).body["id"]
            await world.db.run("UPDATE orders SET status = ? WHERE id = ?", status, order_id)
            order = await world.orders.cancel(caller, order_id)
            assert order.status == "cancelled" and order.updated_at > order.created_at

    run(scenario())


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_closed_orders_cannot_be_cancelled(status: str) -> None:
    async def scenario() -> None:
        world = World()
        order_id = (await world.place(ALICE)).body["id"]
        await world.db.run("UPDATE orders SET status = ? WHERE id = ?", status, order_id)
        with pytest.raises(Conflict):
            await world.orders.cancel(ALICE, order_id)
        assert await world.status_of(order_id) == status

    run(scenario())


def test_cancelling_someone_elses_or_an_unknown_order_is_not_found() -> None:
    async def scenario() -> None:
        world = World()
        order_id = (await world.place(ALICE)).body["id"]
        for caller, wanted in ((BOB, order_id), (ALICE, "ord_missing")):
            with pytest.raises(NotFound):
                await world.orders.cancel(caller, wanted)
        assert await world.status_of(order_id) == "pending"

    run(scenario())


def test_a_cancel_racing_expiry_does_not_resurrect_or_cancel_the_expired_order() -> None:
    async def scenario() -> None:
        world = World()
        order_id = (await world.place(ALICE)).body["id"]
        cancel = world.orders.orders.cancel

        async def expire_first(wanted, now, **guards):  # expiry lands just before the cancel's UPDATE
            await world.db.run("UPDATE orders SET status = 'expired' WHERE id = ?", wanted)
            return await cancel(wanted, now, **guards)

        world.orders.orders.cancel = expire_first
        with pytest.raises(Conflict):
            await world.orders.cancel(ALICE, order_id)
        assert await world.status_of(order_id) == "expired"

    run(scenario())


def test_stored_items_round_trip_as_json() -> None:
    async def scenario() -> None:
        world = World()
        order_id = (await world.place(ALICE, order_body(("A", 1, 1), ("B", 2, 2)))).body["id"]
        row = await world.db.first("SELECT items FROM orders WHERE id = ?", order_id)
        assert json.loads(row["items"]) == [
            {"sku": "A", "quantity": 1, "unit_price_cents": 1},
            {"sku": "B", "quantity": 2, "unit_price_cents": 2},
        ]

    run(scenario())


def test_a_page_gives_each_order_its_own_items() -> None:
    """A page's items columns are parsed together (orders.repository._orders): none may
    shift to a neighbour, whatever their lengths."""
    lines = [(("A", 1, 1),), (("B", 2, 2), ("C", 3, 3), ("D", 4, 4)), (("E", 5, 5),)]

    async def scenario() -> None:
        world = World()
        for order_lines in lines:
            await world.place(ALICE, order_body(*order_lines))
        page = await world.list_orders(ALICE, query())
        got = [[(item["sku"], item["quantity"]) for item in order.public()["items"]] for order in page.items]
        assert got == [[(sku, quantity) for sku, quantity, _ in order_lines] for order_lines in lines[::-1]]

    run(scenario())


# -- closed accounts (a deleted account's still-valid token) -------------------------------


def test_a_closed_account_creates_nothing_with_or_without_an_idempotency_key() -> None:
    async def scenario() -> None:
        world = World()
        await world.place(ALICE)
        await world.orders.close_account(ALICE.user_id)
        await world.orders.close_account(ALICE.user_id)  # the event closes it again: no error
        with pytest.raises(AccountClosed):
            await world.place(ALICE)
        with pytest.raises(AccountClosed):
            await world.place(ALICE, key="after-delete")
        assert await world.db.first("SELECT COUNT(*) AS n FROM orders") == {"n": 1}
        assert await world.db.first("SELECT COUNT(*) AS n FROM idempotency_keys") == {"n": 0}  # released
        assert len(world.order_events.events) == 1
        assert (await world.place(BOB)).status == 201  # nobody else is affected

    run(scenario())


def test_a_closed_account_cancels_nothing_but_an_admin_still_may() -> None:
    async def scenario() -> None:
        world = World()
        order = (await world.place(ALICE)).body
        await world.orders.close_account(ALICE.user_id)
        with pytest.raises(AccountClosed):
            await world.orders.cancel(ALICE, order["id"])
        assert (await world.orders.cancel(as_admin(), order["id"])).status == "cancelled"

    run(scenario())


def test_the_user_deleted_event_closes_the_account_too() -> None:
    async def scenario() -> None:
        world = World()
        await world.deliver(USER_EVENTS_QUEUE, {"type": "user.deleted", "id": "evt_1", "user_id": ALICE.user_id})
        with pytest.raises(AccountClosed):
            await world.place(ALICE)

    run(scenario())


def test_closing_costs_no_extra_statement_on_the_create_path() -> None:
    """The closed-account check rides inside the INSERT the create already runs."""

    async def scenario() -> None:
        world = World()
        with world.db.invocation(100):
            await world.place(ALICE)
            spent = 100 - (world.db.budget.left or 0)
        assert spent == 2  # the order's (guarded) INSERT and the published mark, as before

    run(scenario())


def test_a_cancel_that_succeeds_is_one_guarded_statement_for_owner_and_admin() -> None:
    """Ownership, the order's state and the closed-account check ride inside the UPDATE, which
    returns the cancelled order: no read before it, none after it."""

    async def scenario() -> None:
        world = World()
        for caller in (ALICE, as_admin()):
            order_id = (await world.place(ALICE)).body["id"]
            with world.db.invocation(100):
                order = await world.orders.cancel(caller, order_id)
                spent = 100 - (world.db.budget.left or 0)
            assert spent == 1, caller
            assert order == await world.orders.get(ALICE, order_id) and order.status == "cancelled"

    run(scenario())


def test_a_refused_cancel_says_why_as_before() -> None:
    """Closed account (even for another's or an unknown order) before not found before not open."""

    async def scenario() -> None:
        world = World()
        mine, theirs = (await world.place(ALICE)).body["id"], (await world.place(BOB)).body["id"]
        await world.orders.cancel(ALICE, mine)
        refusals = [
            (ALICE, mine, Conflict, "The order is cancelled; only pending or confirmed orders can be cancelled"),
            (ALICE, theirs, NotFound, "No such order"),
            (ALICE, "ord_missing", NotFound, "No such order"),
            (as_admin(), "ord_missing", NotFound, "No such order"),
        ]
        await world.orders.close_account(BOB.user_id)
        refusals += [(BOB, order, AccountClosed, "This account is closed") for order in (theirs, mine, "ord_missing")]
        for caller, order_id, error, detail in refusals:
            with pytest.raises(error) as refused:
                await world.orders.cancel(caller, order_id)
            assert refused.value.detail == detail
        assert await world.status_of(theirs) == "pending"

    run(scenario())
