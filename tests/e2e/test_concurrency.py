"""Races: many clients doing the same thing at once end in one consistent state."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from .conftest import client_address

PARALLEL = 20
ORDER = {"items": [{"sku": "RACE-1", "quantity": 1, "unit_price_cents": 500}], "currency": "EUR"}


def in_parallel(live, send, count: int = PARALLEL) -> list[httpx.Response]:
    """`send(client, n)` from `count` clients at once, each with its own connection and address."""

    def one(n: int) -> httpx.Response:
        headers = {"CF-Connecting-IP": client_address()}
        with httpx.Client(base_url=live.base_url, timeout=60, headers=headers) as client:
            return send(client, n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_parallel_creates_with_one_idempotency_key_make_one_order(live, api, user):
    headers = {**user.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}
    answers = in_parallel(live, lambda c, _: c.post("/api/orders", json=ORDER, headers=headers))
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses  # 409: the first is still in flight
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1, created  # every 201 is the same order (the first, or its replay)
    assert [o["id"] for o in api.get("/api/orders", headers=user.headers).json()["items"]] == list(created)


def test_parallel_registrations_of_one_email_make_one_user(live, api, admin):
    email = f"race-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": "correct horse battery", "name": "Racer"}
    answers = in_parallel(live, lambda c, _: c.post("/api/auth/register", json=body))
    statuses = Counter(a.status_code for a in answers)
    assert statuses[201] == 1 and statuses[409] == PARALLEL - 1, statuses
    listed, cursor = [], None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/users", params=params, headers=admin.headers).json()
        listed += [u for u in page["items"] if u["email"] == email]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(listed) == 1


def test_parallel_cancels_of_one_order_cancel_it_once(live, api, user):
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    answers = in_parallel(live, lambda c, _: c.post(f"/api/orders/{order['id']}/cancel", headers=user.headers), 10)
    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] == 1 and statuses[409] == 9, statuses
    final = api.get(f"/api/orders/{order['id']}", headers=user.headers).json()
    assert final["status"] == "cancelled"


def test_cancels_racing_the_confirmation_end_cancelled(live, api, user, webhook_receiver):
    """The consumer confirms pending -> confirmed while clients cancel: whichever wins, the end is cancelled."""
    orders = [api.post("/api/orders", json=ORDER, headers=user.headers).json()["id"] for _ in range(5)]
    answers = in_parallel(live, lambda c, n: c.post(f"/api/orders/{orders[n % 5]}/cancel", headers=user.headers), 10)
    assert Counter(a.status_code for a in answers) == {200: 5, 409: 5}  # one winner per order
    for order_id in orders:
        assert api.get(f"/api/orders/{order_id}", headers=user.headers).json()["status"] == "cancelled"
    if live.local:  # one order.created each, however the race went (the receiver sees the local runtime's)
        for order_id in orders:
            webhook_receiver.wait_for(order_id, accepted=True)
        assert {o: len(webhook_receiver.deliveries(o)) for o in orders} == dict.fromkeys(orders, 1)
