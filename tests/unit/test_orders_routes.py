"""The orders worker over HTTP, as the gateway calls it: identity headers in, JSON out."""

import json
from types import SimpleNamespace

from contracts.orders import CreateOrderRequest
from orders.app import build_app, consume_batch, run_scheduled
from orders.messages import DEAD_LETTER_QUEUE, ORDER_EVENTS_QUEUE, QueueMessage
from orders.service import request_fingerprint
from shared.http import HttpRequest
from tests.unit.sqlite_db import SqliteDatabase
from tests.unit.test_orders_support import MemoryPublisher, run

ITEMS = [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 250}]
ALICE = {"x-user-id": "usr_alice", "x-user-role": "user"}
BOB = {"x-user-id": "usr_bob", "x-user-role": "user"}
ADMIN = {"x-user-id": "usr_admin", "x-user-role": "admin"}


class Harness:
    def __init__(self) -> None:
        self.db = SqliteDatabase("orders")
        self.env = SimpleNamespace(
            ORDER_EVENTS=MemoryPublisher(),
            USER_EVENTS=MemoryPublisher(),
            ORDER_PENDING_TTL_SECONDS="86400",
            IDEMPOTENCY_TTL_SECONDS="86400",
            NOTIFY_WEBHOOK_URL="",
        )
        self.app = build_app(self.env, self.db)

    async def call(self, method: str, path: str, headers: dict | None = None, body=None, raw: bytes | None = None):
        sent = {"x-request-id": "req-1", **(headers or {})}
        if body is not None or raw is not None:
            sent.setdefault("content-type", "application/json")
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return await self.app.handle(HttpRequest(method, f"https://internal.invalid{path}", sent, payload, "req-1"))

    async def order(self, headers=ALICE, **extra):
        return await self.call("POST", "/api/orders", headers, {"items": ITEMS, "currency": "EUR"}, **extra)


def test_health_still_answers() -> None:
    async def scenario() -> None:
        response = await Harness().call("GET", "/internal/health")
        assert response.status == 200 and response.json() == {"status": "ok", "worker": "orders"}

    run(scenario())


def test_create_answers_201_with_the_order_and_publishes() -> None:
    async def scenario() -> None:
        h = Harness()
        response = await h.order()
        assert response.status == 201 and response.headers["Content-Type"].startswith("application/json")
        order = response.json()
        assert order["status"] == "pending" and order["total_cents"] == 500 and order["user_id"] == "usr_alice"
        assert set(order) == {"id", "user_id", "status", "items", "total_cents", "currency", "created_at", "updated_at"}
        assert "Idempotent-Replayed" not in response.headers
        [event] = h.env.ORDER_EVENTS.events
        assert event["order_id"] == order["id"] and event["request_id"] == "req-1"

    run(scenario())


def test_without_gateway_identity_the_answer_is_401() -> None:
    async def scenario() -> None:
        h = Harness()
        for method, path in (("POST", "/api/orders"), ("GET", "/api/orders"), ("GET", "/api/admin/dead-letters")):
            response = await h.call(method, path, {"x-user-id": "u", "x-user-role": "root"})
            assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"

    run(scenario())


def test_idempotency_key_replay_conflict_and_validation() -> None:
    async def scenario() -> None:
        h = Harness()
        keyed = {**ALICE, "idempotency-key": "key-1"}
        first = await h.order(keyed)
        again = await h.order(keyed)
        assert (again.status, again.body) == (first.status, first.body)
        assert again.headers["Idempotent-Replayed"] == "true"

        other = await h.call("POST", "/api/orders", keyed, {"items": ITEMS, "currency": "USD"})
        assert other.status == 422 and other.headers["Content-Type"] == "application/problem+json"

        for bad in ("", "k" * 256):
            response = await h.order({**ALICE, "idempotency-key": bad})
            assert response.status == 422
            assert response.json()["errors"] == [
                {"loc": ["header", "Idempotency-Key"], "msg": "must be 1-255 characters"}
            ]
        assert (await h.order({**ALICE, "idempotency-key": "k" * 255})).status == 201

        same_body = request_fingerprint(CreateOrderRequest.model_validate({"items": ITEMS, "currency": "EUR"}))
        await h.db.run(  # another request holds this key right now
            "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at) "
            "VALUES ('usr_alice', 'busy', ?, 'in_flight', '2999-01-01T00:00:00.000Z')",
            same_body,
        )
        busy = await h.order({**ALICE, "idempotency-key": "busy"})
        assert busy.status == 409 and busy.json()["request_id"] == "req-1"

    run(scenario())


def test_bad_bodies_are_rejected_with_field_errors() -> None:
    async def scenario() -> None:
        h = Harness()
        response = await h.call("POST", "/api/orders", ALICE, {"items": [], "currency": "eur"})
        assert response.status == 422
        assert {tuple(e["loc"]) for e in response.json()["errors"]} == {("body", "items"), ("body", "currency")}
        assert (await h.call("POST", "/api/orders", ALICE, raw=b"{nope")).status == 400
        not_json = await h.call("POST", "/api/orders", {**ALICE, "content-type": "text/plain"}, raw=b"{}")
        assert not_json.status == 415

    run(scenario())


def test_list_read_and_cancel() -> None:
    async def scenario() -> None:
        h = Harness()
        ids = [(await h.order()).json()["id"] for _ in range(3)]
        await h.order(BOB)

        page = (await h.call("GET", "/api/orders?limit=2", ALICE)).json()
        rest = (await h.call("GET", f"/api/orders?limit=2&cursor={page['next_cursor']}", ALICE)).json()
        walked = page["items"] + rest["items"]
        assert len(page["items"]) == 2 and rest["next_cursor"] is None
        # Real clock: orders made in the same millisecond tie on created_at and are ordered by id.
        keys = [(o["created_at"], o["id"]) for o in walked]
        assert keys == sorted(keys, reverse=True) and {o["id"] for o in walked} == set(ids)
        assert (await h.call("GET", "/api/orders?cursor=garbage!", ALICE)).status == 422
        assert len((await h.call("GET", "/api/orders", ADMIN)).json()["items"]) == 4
        assert len((await h.call("GET", "/api/orders?user_id=usr_bob", ADMIN)).json()["items"]) == 1

        assert (await h.call("GET", f"/api/orders/{ids[0]}", ALICE)).json()["id"] == ids[0]
        assert (await h.call("GET", f"/api/orders/{ids[0]}", BOB)).status == 404
        assert (await h.call("POST", f"/api/orders/{ids[0]}/cancel", BOB)).status == 404

        cancelled = await h.call("POST", f"/api/orders/{ids[0]}/cancel", ALICE)
        assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled"
        assert (await h.call("POST", f"/api/orders/{ids[0]}/cancel", ALICE)).status == 409
        assert (await h.call("POST", "/api/orders/ord_nope/cancel", ADMIN)).status == 404
        filtered = (await h.call("GET", "/api/orders?status=cancelled", ALICE)).json()["items"]
        assert [o["id"] for o in filtered] == [ids[0]]

    run(scenario())


def test_admin_routes_and_the_queue_and_cron_doors() -> None:
    async def scenario() -> None:
        h = Harness()
        for method, path in (
            ("GET", "/api/admin/dead-letters"),
            ("POST", "/api/admin/dead-letters/x/replay"),
            ("GET", "/api/admin/maintenance-runs"),
        ):
            assert (await h.call(method, path, ALICE)).status == 403

        order = (await h.order()).json()
        event = h.env.ORDER_EVENTS.events[0]
        decisions = await consume_batch(h.env, ORDER_EVENTS_QUEUE, [QueueMessage("m1", event, 1)], h.db)
        assert not decisions[0].retry
        assert (await h.call("GET", f"/api/orders/{order['id']}", ALICE)).json()["status"] == "confirmed"

        await consume_batch(h.env, DEAD_LETTER_QUEUE, [QueueMessage("d1", event, 1)], h.db)
        letters = (await h.call("GET", "/api/admin/dead-letters", ADMIN)).json()
        assert [(d["id"], d["queue"], d["body"]) for d in letters["items"]] == [("d1", ORDER_EVENTS_QUEUE, event)]
        replay = await h.call("POST", "/api/admin/dead-letters/d1/replay", ADMIN)
        assert replay.status == 202 and replay.json() == {"id": "d1", "status": "replayed"}
        assert h.env.ORDER_EVENTS.events[-1] == event
        assert (await h.call("POST", "/api/admin/dead-letters/d1/replay", ADMIN)).status == 404

        await run_scheduled(h.env, "*/15 * * * *", h.db)
        runs = (await h.call("GET", "/api/admin/maintenance-runs", ADMIN)).json()["items"]
        assert [(r["worker"], r["job"], r["cron"]) for r in runs] == [("orders", "orders-maintenance", "*/15 * * * *")]
        assert runs[0]["counts"]["orders_expired"] == 0

    run(scenario())


def test_a_deployed_environments_queues_are_told_apart_by_their_suffix() -> None:
    """Staging's batches come from edge-dead-letters-staging: still the dead-letter queue."""

    async def scenario() -> None:
        h = Harness()
        h.env.QUEUE_NAME_SUFFIX = "-staging"
        await h.order()
        event = h.env.ORDER_EVENTS.events[0]
        await consume_batch(h.env, DEAD_LETTER_QUEUE + "-staging", [QueueMessage("d1", event, 1)], h.db)
        letters = (await h.call("GET", "/api/admin/dead-letters", ADMIN)).json()
        assert [(d["id"], d["queue"]) for d in letters["items"]] == [("d1", ORDER_EVENTS_QUEUE)]

    run(scenario())
