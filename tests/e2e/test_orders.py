"""Orders through the gateway: create, validate, idempotency, list, read, cancel,
asynchronous confirmation, user deletion, scheduled maintenance and dead letters."""

import time
import uuid
from urllib.parse import quote

import pytest

from .conftest import sign_up
from .test_faults import DOOR
from .test_gateway import assert_problem

CONFIRM_TIMEOUT_S = 15


def order_body(**overrides):
    body = {
        "items": [
            {"sku": "WIDGET-1", "quantity": 2, "unit_price_cents": 1250},
            {"sku": "GADGET-22", "quantity": 1, "unit_price_cents": 999},
        ],
        "currency": "USD",
    }
    body.update(overrides)
    return body


def item(**overrides):
    value = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}
    value.update(overrides)
    return value


def create(api, account, body=None, **kwargs):
    response = api.post(
        "/api/orders", json=body or order_body(), headers={**account.headers, **kwargs.pop("headers", {})}, **kwargs
    )
    assert response.status_code == 201, response.text
    return response.json()


def newest_first(orders):
    """The documented order: created_at descending, ties broken by id descending."""
    return [o["id"] for o in sorted(orders, key=lambda o: (o["created_at"], o["id"]), reverse=True)]


def poll_status(api, account, order_id, wanted, timeout=CONFIRM_TIMEOUT_S):
    """Polls are requests too: a 429 from the rate limit means wait as told, not fail."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        response = api.get(f"/api/orders/{order_id}", headers=account.headers)
        if response.status_code == 429:
            time.sleep(min(float(response.headers.get("retry-after", "1")), max(deadline - time.monotonic(), 0)))
            continue
        assert response.status_code == 200, response.text
        last = response.json()
        if last["status"] == wanted:
            return last
        time.sleep(0.25)
    raise AssertionError(f"order {order_id} did not become {wanted!r} within {timeout} s: {last}")


def scheduled(api, worker, cron):
    return api.post(f"/cdn-cgi/handler/scheduled?worker={worker}&cron={quote(cron, safe='')}")


# -- create --


@pytest.mark.smoke
def test_create_order_201_pending_with_computed_total(api, user):
    body = order_body()
    response = api.post("/api/orders", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    order = response.json()
    assert {"id", "user_id", "status", "items", "total_cents", "currency", "created_at", "updated_at"} <= order.keys()
    assert order["status"] == "pending"
    assert order["user_id"] == user.id
    assert order["currency"] == "USD"
    assert order["total_cents"] == 2 * 1250 + 999
    assert [(i["sku"], i["quantity"], i["unit_price_cents"]) for i in order["items"]] == [
        (i["sku"], i["quantity"], i["unit_price_cents"]) for i in body["items"]
    ]
    assert response.headers["cache-control"] == "no-store"


def test_create_order_ignores_client_total(api, user):
    body = order_body(items=[item(quantity=3, unit_price_cents=7)])
    body["total_cents"] = 1
    response = api.post("/api/orders", json=body, headers=user.headers)
    # Either the extra field is rejected or it is ignored; it never sets the total.
    if response.status_code == 201:
        assert response.json()["total_cents"] == 21
    else:
        assert_problem(response, 422)


def test_create_order_needs_auth(api):
    response = api.post("/api/orders", json=order_body())
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_boundary_values_accepted(api, user):
    items = [
        item(sku=f"S{n}", quantity=1000 if n == 0 else 1, unit_price_cents=100000000 if n == 1 else 0)
        for n in range(50)
    ]
    items[2] = item(sku="A" * 32)
    order = create(api, user, order_body(items=items))
    assert len(order["items"]) == 50
    assert order["total_cents"] == 1000 * 0 + 100000000 + 100


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(order_body(items=[]), id="no-items"),
        pytest.param(order_body(items=[item(sku=f"SKU-{n}") for n in range(51)]), id="51-items"),
        pytest.param(order_body(items=[item(quantity=0)]), id="quantity-0"),
        pytest.param(order_body(items=[item(quantity=1001)]), id="quantity-1001"),
        pytest.param(order_body(items=[item(unit_price_cents=-1)]), id="price-negative"),
        pytest.param(order_body(items=[item(unit_price_cents=100000001)]), id="price-too-high"),
        pytest.param(order_body(items=[item(sku="abc-1")]), id="sku-lowercase"),
        pytest.param(order_body(items=[item(sku="A" * 33)]), id="sku-too-long"),
        pytest.param(order_body(items=[item(sku="")]), id="sku-empty"),
        pytest.param(order_body(currency="usd"), id="currency-lowercase"),
        pytest.param(order_body(currency="ZZZ"), id="currency-unknown"),
    ],
)
def test_create_order_validation_422(api, user, body):
    problem = assert_problem(api.post("/api/orders", json=body, headers=user.headers), 422)
    assert problem["errors"] and all({"loc", "msg"} <= e.keys() for e in problem["errors"])


def test_create_order_malformed_json_400(api, user):
    response = api.post(
        "/api/orders", content=b"{not json", headers={**user.headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


# -- idempotency --


@pytest.mark.smoke
def test_idempotency_same_key_same_body_replays(api, user):
    key = f"key-{uuid.uuid4().hex}"
    first = api.post("/api/orders", json=order_body(), headers={**user.headers, "Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert first.headers.get("idempotent-replayed") != "true"
    again = api.post("/api/orders", json=order_body(), headers={**user.headers, "Idempotency-Key": key})
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    listed = api.get("/api/orders", headers=user.headers).json()["items"]
    assert [o["id"] for o in listed] == [first.json()["id"]]


def test_idempotency_same_key_other_body_422(api, user):
    key = f"key-{uuid.uuid4().hex}"
    create(api, user, headers={"Idempotency-Key": key})
    other = order_body(items=[item(quantity=7)])
    assert_problem(api.post("/api/orders", json=other, headers={**user.headers, "Idempotency-Key": key}), 422)


def test_idempotency_key_still_in_flight_409(local, api, user, expect_5xx, expect_error):
    headers = stranded_key(local, api, user, expect_5xx, expect_error)
    problem = assert_problem(api.post("/api/orders", json=order_body(), headers=headers), 409)
    assert "in progress" in problem["detail"]
    assert api.get("/api/orders", headers=user.headers).json()["items"] == []


def stranded_key(local, api, user, expect_5xx, expect_error, attempts: int = 3) -> dict:
    """Headers whose Idempotency-Key a create that died half way left in flight: D1 answers
    its claim, then fails, so neither the order nor the key's release lands. A queue
    consumer (an earlier test's order.created, delivered a second after its order) may
    run inside the fault: it fails and logs the retry it gets, which this test caused and
    declares; if it spent the one good query first, nothing was claimed: a new key tries again."""
    for _ in range(attempts):
        headers = {**user.headers, "Idempotency-Key": f"stranded-{uuid.uuid4().hex}"}
        since = local.mark()
        assert api.post(f"{DOOR}?worker=orders&fault=d1-error-after-a-query").status_code == 200
        try:
            died = api.post("/api/orders", json=order_body(), headers=headers)
        finally:
            api.post(f"{DOOR}?worker=orders&fault=none")
        assert died.status_code == 502, died.text
        request_id = expect_5xx(died)
        local.barrier()  # every line of that answer is in
        for consumer_error in {r["message"] for r in local.logs(since) if r.get("queue") and r.get("level") == "error"}:
            expect_error(consumer_error)
        if any(r.get("request_id") == request_id and "release" in r.get("message", "") for r in local.logs(since)):
            return headers
    raise AssertionError(f"no create died with its key claimed in {attempts} attempts")


def test_idempotency_key_too_long_422(api, user):
    response = api.post("/api/orders", json=order_body(), headers={**user.headers, "Idempotency-Key": "k" * 256})
    assert_problem(response, 422)


def test_idempotency_key_255_chars_accepted(api, user):
    create(api, user, headers={"Idempotency-Key": "k" * 254 + uuid.uuid4().hex[:1]})


def test_idempotency_keys_are_per_user(api, user, other_user):
    key = f"shared-{uuid.uuid4().hex}"
    mine = create(api, user, headers={"Idempotency-Key": key})
    response = api.post("/api/orders", json=order_body(), headers={**other_user.headers, "Idempotency-Key": key})
    assert response.status_code == 201, response.text
    assert response.json()["id"] != mine["id"]
    assert response.json()["user_id"] == other_user.id


# -- list --


def test_list_own_orders_newest_first(api, user, other_user):
    created = [create(api, user) for _ in range(3)]
    create(api, other_user)
    response = api.get("/api/orders", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [o["id"] for o in body["items"]] == newest_first(created)
    assert all(o["user_id"] == user.id for o in body["items"])
    assert "next_cursor" in body
    assert response.headers["cache-control"] == "no-store"


def test_list_status_filter(api, user):
    kept = create(api, user)
    cancelled = create(api, user)
    assert api.post(f"/api/orders/{cancelled['id']}/cancel", headers=user.headers).status_code == 200
    response = api.get("/api/orders", params={"status": "cancelled"}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert [o["id"] for o in response.json()["items"]] == [cancelled["id"]]
    others = api.get("/api/orders", params={"status": "expired"}, headers=user.headers).json()["items"]
    assert kept["id"] not in [o["id"] for o in others] and others == []


def test_list_paging_with_limit_and_cursor(api, user):
    created = [create(api, user) for _ in range(3)]
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = api.get("/api/orders", params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 1
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == newest_first(created)


@pytest.mark.parametrize("limit", [0, 101, "x"])
def test_list_bad_limit_422(api, user, limit):
    assert_problem(api.get("/api/orders", params={"limit": limit}, headers=user.headers), 422)


def test_admin_lists_all_and_filters_by_user(api, user, other_user, admin):
    mine = create(api, user)
    theirs = create(api, other_user)
    everything = api.get("/api/orders", params={"limit": 100}, headers=admin.headers)
    assert everything.status_code == 200, everything.text
    ids = [o["id"] for o in everything.json()["items"]]
    assert theirs["id"] in ids and mine["id"] in ids
    assert [i for i in ids if i in (mine["id"], theirs["id"])] == newest_first([mine, theirs])
    filtered = api.get("/api/orders", params={"user_id": user.id}, headers=admin.headers)
    assert filtered.status_code == 200, filtered.text
    assert [o["id"] for o in filtered.json()["items"]] == [mine["id"]]


def test_user_cannot_list_other_users_orders_by_user_id(api, user, other_user):
    create(api, other_user)
    response = api.get("/api/orders", params={"user_id": other_user.id}, headers=user.headers)
    if response.status_code == 200:
        assert all(o["user_id"] == user.id for o in response.json()["items"])
    else:
        assert_problem(response, 403)


# -- read --


def test_get_order_owner_other_admin_unknown(api, user, other_user, admin):
    order = create(api, user)
    mine = api.get(f"/api/orders/{order['id']}", headers=user.headers)
    assert mine.status_code == 200 and mine.json()["id"] == order["id"]
    assert_problem(api.get(f"/api/orders/{order['id']}", headers=other_user.headers), 404)
    as_admin = api.get(f"/api/orders/{order['id']}", headers=admin.headers)
    assert as_admin.status_code == 200 and as_admin.json()["user_id"] == user.id
    assert_problem(api.get(f"/api/orders/{uuid.uuid4().hex}", headers=user.headers), 404)
    assert_problem(api.get(f"/api/orders/{uuid.uuid4().hex}", headers=admin.headers), 404)


# -- cancel --


@pytest.mark.smoke
def test_cancel_pending_then_again_409(api, user):
    order = create(api, user)
    response = api.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["id"] == order["id"]
    assert api.get(f"/api/orders/{order['id']}", headers=user.headers).json()["status"] == "cancelled"
    assert_problem(api.post(f"/api/orders/{order['id']}/cancel", headers=user.headers), 409)


def test_cancel_by_other_user_404_and_unchanged(api, user, other_user):
    order = create(api, user)
    assert_problem(api.post(f"/api/orders/{order['id']}/cancel", headers=other_user.headers), 404)
    assert api.get(f"/api/orders/{order['id']}", headers=user.headers).json()["status"] != "cancelled"


def test_cancel_unknown_404(api, user):
    assert_problem(api.post(f"/api/orders/{uuid.uuid4().hex}/cancel", headers=user.headers), 404)


def test_admin_can_cancel(api, user, admin):
    order = create(api, user)
    response = api.post(f"/api/orders/{order['id']}/cancel", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"


# -- asynchronous confirmation --


@pytest.mark.smoke
def test_order_is_confirmed_by_queue_then_cancellable(api, user):
    order = create(api, user)
    confirmed = poll_status(api, user, order["id"], "confirmed")
    assert confirmed["total_cents"] == order["total_cents"]
    response = api.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert_problem(api.post(f"/api/orders/{order['id']}/cancel", headers=user.headers), 409)


def test_queue_consumer_log_carries_request_id(api, user, live):
    if not live.local:
        pytest.skip("service logs are visible only for the local runtime")
    since = live.mark()
    request_id = f"order-trace-{uuid.uuid4().hex[:12]}"
    response = api.post("/api/orders", json=order_body(), headers={**user.headers, "X-Request-ID": request_id})
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == request_id
    order_id = response.json()["id"]

    def consumer_line(record):
        return (
            record.get("request_id") == request_id
            and record.get("worker") == "orders"
            and record.get("event_type") == "order.created"
            and bool(record.get("queue"))
        )

    line = live.wait_for_log(consumer_line, timeout=CONFIRM_TIMEOUT_S, since=since)
    assert line.get("order_id") == order_id
    poll_status(api, user, order_id, "confirmed")


# -- user deletion cancels open orders --


def test_deleting_user_cancels_open_orders(api, admin):
    account = sign_up(api)
    first = create(api, account)
    second = create(api, account)
    response = api.delete(f"/api/users/{account.id}", headers=account.headers)
    assert response.status_code == 204, response.text
    for order in (first, second):
        poll_status(api, admin, order["id"], "cancelled")


# -- scheduled maintenance --


def test_orders_scheduled_run_is_recorded(api, admin, live):
    if not live.local:
        pytest.skip("the scheduled door exists only in the local runtime")
    response = scheduled(api, "orders", "*/15 * * * *")
    assert response.status_code == 200, response.text
    runs = api.get("/api/admin/maintenance-runs", headers=admin.headers)
    assert runs.status_code == 200, runs.text
    items = runs.json()["items"]
    assert items, runs.text
    started = [r["started_at"] for r in items]
    assert started == sorted(started, reverse=True)
    orders_runs = [r for r in items if r.get("worker") == "orders"]
    assert orders_runs and orders_runs[0]["cron"] == "*/15 * * * *"
    assert isinstance(orders_runs[0]["counts"], dict)


def test_users_scheduled_run_is_recorded(api, admin, live):
    if not live.local:
        pytest.skip("the scheduled door exists only in the local runtime")
    response = scheduled(api, "users", "0 3 * * *")
    assert response.status_code == 200, response.text
    runs = api.get("/api/admin/maintenance-runs", headers=admin.headers)
    assert runs.status_code == 200, runs.text
    users_runs = [r for r in runs.json()["items"] if r.get("worker") == "users"]
    assert users_runs and users_runs[0]["cron"] == "0 3 * * *"


def test_maintenance_runs_admin_only(api, user):
    assert_problem(api.get("/api/admin/maintenance-runs", headers=user.headers), 403)
    assert_problem(api.get("/api/admin/maintenance-runs"), 401)


# -- dead letters --


def test_dead_letters_admin_lists(api, admin, user):
    response = api.get("/api/admin/dead-letters", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["items"], list) and "next_cursor" in response.json()
    assert_problem(api.get("/api/admin/dead-letters", headers=user.headers), 403)
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
        assert_problem(api.get("/api/admin/dead-letters", headers=admin.headers, params=bad), 422)


def test_dead_letter_replay_unknown(api, admin, user):
    assert_problem(api.post("/api/admin/dead-letters/unknown/replay", headers=admin.headers), 404)
    assert_problem(api.post("/api/admin/dead-letters/unknown/replay", headers=user.headers), 403)
