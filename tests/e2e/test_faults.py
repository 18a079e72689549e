"""Faults injected into the running system: it degrades as the contract says and recovers.

The local runtime's fault door (scripts/runtime/faults.mjs) makes a service fail (500),
hang, be unreachable, or lose its D1 database; no worker code knows about it. Local only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

DOOR = "/cdn-cgi/local/faults"
PROBLEM = "application/problem+json"
COOLDOWN_S = 2  # BREAKER_COOLDOWN_SECONDS in tests/conftest.py TEST_VARS


@pytest.fixture
def inject(local, api, user, expect_5xx):
    """`with inject("orders", "fail"):` the fault holds inside; after it, the service and its breaker are well again."""

    @contextmanager
    def injected(worker: str, fault: str) -> Iterator[None]:
        assert api.post(f"{DOOR}?worker={worker}&fault={fault}").status_code == 200
        try:
            yield
        finally:
            api.post(f"{DOOR}?worker={worker}&fault=none")
            recover(api, user, expect_5xx)

    return injected


def recover(api: httpx.Client, user, expect_5xx) -> None:
    """Wait out the breaker's cool-down; the first good answer closes it again."""
    deadline = time.monotonic() + COOLDOWN_S + 20
    while time.monotonic() < deadline:
        response = api.get("/api/orders", headers=user.headers)
        if response.status_code == 200:
            return
        expect_5xx(response)
        time.sleep(0.5)
    raise AssertionError("the orders service did not recover")


def failed(response: httpx.Response, status: int, expect_5xx) -> httpx.Response:
    expect_5xx(response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "Traceback" not in response.text and "D1_ERROR" not in response.text
    assert response.headers["x-request-id"] and response.headers["x-frame-options"] == "DENY"
    return response


def health(api: httpx.Client, expect_5xx) -> dict:
    response = api.get("/health")
    if response.status_code >= 500:
        expect_5xx(response)
    return {"status_code": response.status_code, **response.json()}


@pytest.mark.parametrize(
    ("fault", "route_status", "reported"),
    [("fail", 502, "failing"), ("down", 503, "unavailable"), ("hang", 504, "timeout"), ("d1-error", 502, "failing")],
)
def test_a_broken_service_degrades_only_what_needs_it(api, user, inject, expect_5xx, fault, route_status, reported):
    with inject("orders", fault):
        report = health(api, expect_5xx)
        assert report["status_code"] == 503 and report["status"] == "degraded"
        assert report["services"] == {"users": "ok", "orders": reported}
        assert api.get("/api/users/me", headers=user.headers).status_code == 200
        answer = failed(api.get("/api/orders", headers=user.headers), route_status, expect_5xx)
        if route_status == 503:
            assert int(answer.headers["retry-after"]) > 0
    assert health(api, expect_5xx)["status_code"] == 200


def test_the_breaker_opens_fails_fast_and_closes_after_a_good_probe(api, user, inject, expect_5xx):
    with inject("orders", "fail"):
        for _ in range(5):
            failed(api.get("/api/orders", headers=user.headers), 502, expect_5xx)
        started = time.monotonic()
        fast = failed(api.get("/api/orders", headers=user.headers), 503, expect_5xx)
        assert int(fast.headers["retry-after"]) >= 1 and time.monotonic() - started < 2
        assert health(api, expect_5xx)["breakers"]["orders"]["state"] == "open"
        assert api.get("/api/users/me", headers=user.headers).status_code == 200  # users has its own breaker
    report = health(api, expect_5xx)
    assert report["status_code"] == 200 and report["breakers"]["orders"] == {"state": "closed", "failures": 0}


def test_a_consumer_killed_mid_batch_loses_no_message_and_applies_none_twice(local, api, user, webhook_receiver):
    """Half a batch is handled, then the consumer dies before acking: the queue redelivers it all."""
    since = local.mark()
    assert api.post(f"{DOOR}?worker=orders&fault=kill-consumer").status_code == 200
    body = {"items": [{"sku": "KILL-1", "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"}
    orders = [api.post("/api/orders", json=body, headers=user.headers).json()["id"] for _ in range(4)]
    killed = local.wait_for_log(lambda r: r.get("message", "").startswith("consumer killed mid-batch"), since=since)
    assert killed["handled"] < killed["of"] or killed["of"] == 1
    for order_id in orders:  # none lost: every order confirmed, every webhook delivered ...
        webhook_receiver.wait_for(order_id, accepted=True)
        assert api.get(f"/api/orders/{order_id}", headers=user.headers).json()["status"] == "confirmed"
    time.sleep(3)  # ... and none twice, after the redelivery had every chance to repeat them
    assert {order_id: len(webhook_receiver.deliveries(order_id)) for order_id in orders} == dict.fromkeys(orders, 1)


def test_a_delete_is_not_answered_204_until_the_orders_service_has_closed_the_account(api, user, inject, expect_5xx):
    """Orders failing: the account is deleted, but the client hears a 5xx, not 204 (no order may
    follow a 204). The retried DELETE answers 404 and closes it; from then on no order is made."""
    order = {"items": [{"sku": "CLOSE-1", "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"}
    with inject("orders", "fail"):
        failed(api.delete(f"/api/users/{user.id}", headers=user.headers), 502, expect_5xx)
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 404
    refused = api.post("/api/orders", json=order, headers=user.headers)
    assert refused.status_code == 401, refused.text
