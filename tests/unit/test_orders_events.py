"""The queue consumers: exactly-once confirmation, signed webhooks with retries, user
deletions, dead letters and their replay, and the runtime message edge."""

import json

import pytest

from contracts.orders import ListDeadLettersQuery
from orders.domain import DeadLetterRecord
from orders.events import consume
from orders.messages import (
    DEAD_LETTER_QUEUE,
    ORDER_EVENTS_QUEUE,
    USER_EVENTS_QUEUE,
    Decision,
    QueueMessage,
    apply_decisions,
    message_from_runtime,
    retry_delay,
)
from shared.adapters.webhook import verify
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.telemetry import Telemetry
from tests.unit.test_orders_support import (
    LOG,
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    RuntimeMessage,
    World,
    as_admin,
    as_user,
    run,
)

ALICE = as_user("usr_alice")
BOB = as_user("usr_bob")


async def placed(world: World, caller=ALICE) -> tuple[str, dict]:
    """A new order's id and the order.created event its creation published."""
    order_id = (await world.place(caller)).body["id"]
    return order_id, world.order_events.events[-1]


# -- order.created ------------------------------------------------------------------------


def test_order_created_confirms_once_and_posts_a_signed_webhook() -> None:
    async def scenario() -> None:
        world = World()
        order_id, event = await placed(world)

        decision = await world.deliver(ORDER_EVENTS_QUEUE, event)

        assert decision == Decision("msg-1") and not decision.retry
        assert await world.status_of(order_id) == "confirmed"
        [(url, body, headers)] = world.receiver.posts
        assert url == WEBHOOK_URL and json.loads(body) == event
        assert headers["Content-Type"] == "application/json" and headers["X-Event-Id"] == event["id"]
        assert verify(body.encode(), WEBHOOK_SECRET, headers["X-Signature"])

    run(scenario())


def test_a_redelivered_order_created_changes_nothing_more() -> None:
    async def scenario() -> None:
        world = World()
        order_id, event = await placed(world)
        await world.deliver(ORDER_EVENTS_QUEUE, event)
        confirmed = await world.db.first("SELECT status, updated_at, notified_at FROM orders WHERE id = ?", order_id)

        for attempt in (2, 3):
            assert not (await world.deliver(ORDER_EVENTS_QUEUE, event, attempts=attempt)).retry

        assert (
            await world.db.first("SELECT status, updated_at, notified_at FROM orders WHERE id = ?", order_id)
            == confirmed
        )
        assert len(world.receiver.posts) == 1  # the webhook already accepted it: not posted again

    run(scenario())


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_closed_orders_are_not_confirmed(status: str) -> None:
    async def scenario() -> None:
        world = World()
        order_id, event = await placed(world)
        await world.db.run("UPDATE orders SET status = ? WHERE id = ?", status, order_id)
        assert not (await world.deliver(ORDER_EVENTS_QUEUE, event)).retry
        assert await world.status_of(order_id) == status

    run(scenario())


def test_a_failed_webhook_retries_with_growing_delay_and_never_reconfirms() -> None:
    async def scenario() -> None:
        world = World()
        order_id, event = await placed(world)
        world.receiver.status = 503

        delays = [
            (await world.deliver(ORDER_EVENTS_QUEUE, event, attempts=n)).retry_delay_seconds for n in (1, 2, 3, 4)
        ]

        assert delays == [2, 4, 8, 16]
        assert await world.status_of(order_id) == "confirmed"
        first_confirm = await world.db.first("SELECT updated_at FROM orders WHERE id = ?", order_id)
        failure = await world.events.failures.get(event["id"])
        assert failure.attempts == 4 and "503" in failure.last_error

        world.receiver.status = 200
        assert not (await world.deliver(ORDER_EVENTS_QUEUE, event, attempts=5)).retry
        assert await world.db.first("SELECT updated_at FROM orders WHERE id = ?", order_id) == first_confirm
        assert await world.events.failures.get(event["id"]) is None  # success clears the note
        assert len(world.receiver.posts) == 5 and len({p[2]["X-Event-Id"] for p in world.receiver.posts}) == 1

    run(scenario())


def test_an_unreachable_webhook_is_a_failed_delivery_too() -> None:
    async def scenario() -> None:
        world = World()
        _, event = await placed(world)
        world.receiver.error = OSError("connection refused")
        decision = await world.deliver(ORDER_EVENTS_QUEUE, event)
        assert decision.retry_delay_seconds == 2
        assert "unreachable" in (await world.events.failures.get(event["id"])).last_error

    run(scenario())


def test_retry_delay_is_capped() -> None:
    assert [retry_delay(n) for n in (0, 1, 2, 5, 6, 7, 50)] == [2, 2, 4, 32, 60, 60, 60]


def test_without_a_webhook_url_orders_are_confirmed_and_nothing_is_posted() -> None:
    async def scenario() -> None:
        world = World(webhook=False)
        order_id, event = await placed(world)
        assert not (await world.deliver(ORDER_EVENTS_QUEUE, event)).retry
        assert await world.status_of(order_id) == "confirmed" and world.receiver.posts == []

    run(scenario())


def test_a_database_failure_is_retried_and_noted() -> None:
    async def scenario() -> None:
        world = World()
        _, event = await placed(world)

        async def broken_confirm(*_):
            raise RuntimeError("D1 overloaded")

        world.events.orders.confirm = broken_confirm
        decision = await world.deliver(ORDER_EVENTS_QUEUE, event, attempts=2)
        assert decision.retry_delay_seconds == 4
        assert (await world.events.failures.get(event["id"])).last_error == "RuntimeError: D1 overloaded"

    run(scenario())


@pytest.mark.parametrize("body", [{"type": "order.shipped", "id": "e"}, {"no": "type"}, {"type": "order.created"}])
def test_unknown_or_malformed_events_are_acked(body: dict) -> None:
    async def scenario() -> None:
        assert not (await World().deliver(ORDER_EVENTS_QUEUE, body)).retry

    run(scenario())


# -- user.deleted ---------------------------------------------------------------------------


def test_user_deleted_cancels_only_that_users_open_orders() -> None:
    async def scenario() -> None:
        world = World()
        ids = {}
        for status in ("pending", "confirmed", "cancelled", "expired"):
            ids[status] = (await world.place(ALICE)).body["id"]
            await world.db.run("UPDATE orders SET status = ? WHERE id = ?", status, ids[status])
        bobs = (await world.place(BOB)).body["id"]
        event = {"type": "user.deleted", "id": "evt-u1", "user_id": ALICE.user_id, "request_id": "r"}

        assert not (await world.deliver(USER_EVENTS_QUEUE, event)).retry
        assert not (await world.deliver(USER_EVENTS_QUEUE, event, attempts=2)).retry  # redelivery: harmless

        assert {s: await world.status_of(i) for s, i in ids.items()} == {
            "pending": "cancelled",
            "confirmed": "cancelled",
            "cancelled": "cancelled",
            "expired": "expired",
        }
        assert await world.status_of(bobs) == "pending"

    run(scenario())


# -- dead letters ---------------------------------------------------------------------------


async def waiting(world: World, **query) -> list[DeadLetterRecord]:
    """The first page of dead letters an admin sees."""
    letters, _ = await world.dead_letters.waiting(as_admin(), ListDeadLettersQuery(**query))
    return letters


async def exhaust(world: World, event: dict, queue: str = ORDER_EVENTS_QUEUE) -> None:
    """Fail an event as the queue would: 1 delivery + 3 retries, all failing."""
    world.receiver.status = 500
    for attempt in range(1, 5):
        assert (await world.deliver(queue, event, attempts=attempt)).retry


def test_a_dead_letter_is_recorded_once_with_its_source_queue_and_last_error() -> None:
    async def scenario() -> None:
        world = World()
        _, event = await placed(world)
        await exhaust(world, event)
        dlq = QueueMessage("dlq-1", event, 1)

        decisions = await consume(
            DEAD_LETTER_QUEUE, [dlq, dlq], world.events, world.dead_letters, LOG, Telemetry("orders", None)
        )
        assert decisions == [Decision("dlq-1"), Decision("dlq-1")]
        await world.dead_letters.record(dlq, LOG)  # and redelivered later

        [letter] = await waiting(world)
        assert letter.id == "dlq-1" and letter.queue == ORDER_EVENTS_QUEUE and letter.body == event
        assert letter.attempts == 4 and letter.last_error == "DeliveryFailed: webhook answered HTTP 500"

    run(scenario())


def test_dead_letters_without_a_noted_failure_and_of_unknown_type() -> None:
    async def scenario() -> None:
        world = World()
        user_event = {"type": "user.deleted", "id": "evt-u", "user_id": "usr_x"}
        await world.dead_letters.record(QueueMessage("d-user", user_event, 2), LOG)
        world.clock.advance(seconds=1)
        await world.dead_letters.record(QueueMessage("d-odd", {"raw": "?"}, 1), LOG)

        letters = await waiting(world)
        assert [(d.id, d.queue, d.attempts, d.last_error) for d in letters] == [
            ("d-odd", "unknown", 1, None),  # newest first
            ("d-user", USER_EVENTS_QUEUE, 2, None),
        ]

    run(scenario())


def test_replay_resends_to_the_source_queue_once_and_takes_it_off_the_list() -> None:
    async def scenario() -> None:
        world = World()
        _, event = await placed(world)
        await exhaust(world, event)
        await world.dead_letters.record(QueueMessage("dlq-1", event, 1), LOG)
        user_event = {"type": "user.deleted", "id": "evt-u", "user_id": "usr_x"}
        await world.dead_letters.record(QueueMessage("dlq-2", user_event, 1), LOG)
        sent_before = len(world.order_events.events)

        await world.dead_letters.replay(as_admin(), "dlq-1", LOG)
        await world.dead_letters.replay(as_admin(), "dlq-2", LOG)

        assert world.order_events.events[sent_before:] == [event] and world.user_events.events == [user_event]
        assert (await waiting(world)) == []
        assert await world.events.failures.get(event["id"]) is None  # the replay's failures count afresh
        with pytest.raises(NotFound):
            await world.dead_letters.replay(as_admin(), "dlq-1", LOG)
        assert len(world.order_events.events) == sent_before + 1

        world.receiver.status = 200  # the replayed message now goes through
        assert not (await world.deliver(ORDER_EVENTS_QUEUE, event, message_id="msg-replayed")).retry

    run(scenario())


def test_the_dead_letter_list_pages_newest_first_with_a_cursor() -> None:
    async def scenario() -> None:
        world = World()
        ids = [f"{n:032x}" for n in range(5)]
        for letter_id in ids:
            await world.dead_letters.record(QueueMessage(letter_id, {"type": "order.created", "id": letter_id}, 4), LOG)
            if letter_id != ids[2]:  # two letters share a time: the id breaks the tie
                world.clock.advance(seconds=1)
        seen, cursor, pages = [], None, 0
        while True:
            page, cursor = await world.dead_letters.waiting(as_admin(), ListDeadLettersQuery(limit=2, cursor=cursor))
            seen += [letter.id for letter in page]
            pages += 1
            if cursor is None:
                break
        assert seen == sorted(ids, reverse=True) and pages == 3
        assert [d.id for d in await waiting(world)] == seen  # default limit 20: one page
        with pytest.raises(Unprocessable):
            await world.dead_letters.waiting(as_admin(), ListDeadLettersQuery.model_construct(limit=2, cursor="x~y"))

    run(scenario())


def test_only_a_delivery_the_queue_will_retry_logs_will_retry(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        world = World()
        _, event = await placed(world)
        capsys.readouterr()
        await exhaust(world, event)

    run(scenario())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failures = [
        (line["attempts"], line["message"], line.get("retry_in_seconds"))
        for line in lines
        if line["level"] == "warning"
    ]
    assert failures == [
        (1, "webhook delivery failed; will retry", 2),
        (2, "webhook delivery failed; will retry", 4),
        (3, "webhook delivery failed; will retry", 8),
        (4, "webhook delivery failed; no retries left, so it goes to the dead-letter queue", None),
    ]


def test_a_replay_that_cannot_send_stays_on_the_list() -> None:
    async def scenario() -> None:
        world = World()
        await world.dead_letters.record(QueueMessage("dlq-1", {"type": "order.created", "id": "e"}, 1), LOG)
        world.order_events.fail = True
        with pytest.raises(RuntimeError):
            await world.dead_letters.replay(as_admin(), "dlq-1", LOG)
        assert [d.id for d in (await waiting(world))] == ["dlq-1"]

    run(scenario())


def test_dead_letters_are_for_admins_and_unknown_ones_are_not_found() -> None:
    async def scenario() -> None:
        world = World()
        with pytest.raises(Forbidden):
            await world.dead_letters.waiting(ALICE, ListDeadLettersQuery())
        with pytest.raises(Forbidden):
            await world.dead_letters.replay(ALICE, "x", LOG)
        with pytest.raises(NotFound):
            await world.dead_letters.replay(as_admin(), "x", LOG)

    run(scenario())


# -- the runtime edge ---------------------------------------------------------------------


def test_runtime_messages_become_plain_data_and_get_their_verdicts() -> None:
    class JsObject:  # what a raw JS proxy offers: to_py()
        def __init__(self, value):
            self.value = value

        def to_py(self):
            return self.value

    raw = [
        RuntimeMessage("m1", {"type": "order.created", "id": "e1"}, 1),
        RuntimeMessage("m2", JsObject({"type": "user.deleted"}), 3),
        RuntimeMessage("m3", "not an object", 1),
        RuntimeMessage("m4", {}, 2),
    ]
    plain = [message_from_runtime(m) for m in raw]
    assert plain[1] == QueueMessage("m2", {"type": "user.deleted"}, 3)
    assert plain[2].body == {"raw": "not an object"} and plain[0].event_id == "e1" and plain[3].event_id == "m4"

    apply_decisions(raw, [Decision("m1"), Decision("m2", 8), Decision("m3")])  # m4 undecided
    assert [m.outcome for m in raw] == [
        ("ack", None),
        ("retry", {"delaySeconds": 8}),
        ("ack", None),
        ("retry", {"delaySeconds": 4}),
    ]
