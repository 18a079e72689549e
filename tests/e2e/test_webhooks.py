"""The asynchronous path on the runtime: order.created reaches a webhook receiver signed,
retried with growing delays while the receiver fails, dead-lettered after the queue's
retries, and delivered once when an admin replays it after the receiver heals."""

from __future__ import annotations

import itertools
import time

import pytest

from shared.adapters.webhook import verify
from tests.conftest import TEST_VARS
from tests.e2e.conftest import wait_for_dead_letter

ORDER = {"items": [{"sku": "HOOK-1", "quantity": 1, "unit_price_cents": 700}], "currency": "EUR"}
MAX_RETRIES = 3  # services/orders/wrangler.toml, the order-events consumer


@pytest.fixture
def receiver(local, webhook_receiver):
    webhook_receiver.failing = False
    yield webhook_receiver
    webhook_receiver.failing = False


def test_a_delivery_is_signed_and_names_its_event(api, user, receiver):
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    [delivery] = receiver.wait_for(order["id"], accepted=True)
    assert verify(delivery.body, TEST_VARS["WEBHOOK_SECRET"], delivery.headers["x-signature"])
    assert delivery.headers["x-event-id"] == delivery.event["id"] and delivery.event["type"] == "order.created"
    assert delivery.event["order_id"] == order["id"] and delivery.event["user_id"] == user.id
    assert api.get(f"/api/orders/{order['id']}", headers=user.headers).json()["status"] == "confirmed"


def test_a_failing_receiver_gets_retries_then_a_dead_letter_that_replays_once(api, user, admin, receiver, local):
    receiver.failing = True
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    attempts = receiver.wait_for(order["id"], count=MAX_RETRIES + 1, accepted=False, timeout=90)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps)), gaps  # growing delays
    event_id = attempts[0].headers["x-event-id"]
    assert {a.headers["x-event-id"] for a in attempts} == {event_id}  # one event, redelivered

    letter = wait_for_dead_letter(api, admin, event_id)
    assert letter["queue"] == "edge-order-events" and letter["attempts"] >= MAX_RETRIES + 1
    assert "503" in (letter["last_error"] or "")
    said = [
        (r["attempts"], r["message"])
        for r in local.logs()
        if r.get("event_id") == event_id and r["message"].startswith("webhook delivery failed")
    ]
    assert said == [(n, "webhook delivery failed; will retry") for n in range(1, MAX_RETRIES + 1)] + [
        (MAX_RETRIES + 1, "webhook delivery failed; no retries left, so it goes to the dead-letter queue")
    ]
    assert api.get(f"/api/orders/{order['id']}", headers=user.headers).json()["status"] == "confirmed"

    receiver.failing = False
    replay = api.post(f"/api/admin/dead-letters/{letter['id']}/replay", headers=admin.headers)
    assert replay.status_code == 202 and replay.json() == {"id": letter["id"], "status": "replayed"}
    [delivered] = receiver.wait_for(order["id"], accepted=True)
    assert delivered.headers["x-event-id"] == event_id
    trace_ids = {a.headers["traceparent"].split("-")[1] for a in (*attempts, delivered)}
    assert len(trace_ids) == 1  # the replay continues the original trace
    assert api.post(f"/api/admin/dead-letters/{letter['id']}/replay", headers=admin.headers).status_code == 404
    time.sleep(2)  # a second delivery would have come by now
    assert len(receiver.wait_for(order["id"], accepted=True)) == 1
