"""Observability on the runtime: one W3C trace from the client through the gateway, the
orders worker, its queue consumer and every webhook attempt; Server-Timing; one Analytics
Engine data point per request, message and run, read back through the local SQL API door;
GET /api/admin/metrics adding up exactly the traffic sent."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from urllib.parse import quote

import httpx
import pytest

ORDER = {"items": [{"sku": "TRACE-1", "quantity": 2, "unit_price_cents": 250}], "currency": "EUR"}
SQL_DOOR = "/cdn-cgi/local/client/v4/accounts/local/analytics_engine/sql"
TIMING_TRACE = re.compile(r'traceparent;desc="00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}"')


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def trace_of(response: httpx.Response) -> str:
    found = TIMING_TRACE.search(response.headers["server-timing"])
    assert found, response.headers["server-timing"]
    return found.group(1)


def ids_in(header: str) -> tuple[str, str]:
    version, trace_id, span_id, _flags = header.split("-")
    assert version == "00"
    return trace_id, span_id


def sql(api: httpx.Client, query: str) -> dict:
    answer = api.post(SQL_DOOR, content=query, headers={"Authorization": "Bearer local"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def points(api: httpx.Client, where: str) -> list[dict]:
    query = f"""SELECT blob1 AS worker, blob2 AS kind, blob3 AS route, blob4 AS method, blob5 AS outcome,
      blob6 AS trace_id, double1 AS status, double4 AS d1_rows_read, double6 AS kv_reads
    FROM edge_api_metrics WHERE {where} ORDER BY timestamp"""
    return sql(api, query)["data"]


def wait_for_points(api: httpx.Client, where: str, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = points(api, where)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


@pytest.fixture
def receiver(local, webhook_receiver):
    webhook_receiver.failing = False
    yield webhook_receiver
    webhook_receiver.failing = False


def test_one_order_is_one_trace_from_the_client_to_every_webhook_attempt(api, user, receiver, live):
    trace_id = secrets.token_hex(16)
    receiver.failing = True
    created = api.post("/api/orders", json=ORDER, headers={**user.headers, "traceparent": traceparent(trace_id)})
    assert created.status_code == 201 and trace_of(created) == trace_id
    order_id = created.json()["id"]
    refused = receiver.wait_for(order_id, count=2, accepted=False, timeout=60)
    receiver.failing = False
    [accepted] = receiver.wait_for(order_id, accepted=True, timeout=60)
    attempts = [ids_in(delivery.headers["traceparent"]) for delivery in (*refused, accepted)]
    assert {trace for trace, _ in attempts} == {trace_id}  # the receiver sees the client's trace
    assert len({span for _, span in attempts}) == len(attempts)  # each attempt is its own span
    assert "traceparent" not in accepted.event  # the header carries it; the signed body is the event

    live.wait_for_log(lambda r: r.get("trace_id") == trace_id and r.get("message") == "webhook delivered")
    lines = [r for r in live.logs() if r.get("trace_id") == trace_id]
    assert {(r.get("worker"), r.get("message")) for r in lines} >= {
        ("gateway", "request"),
        ("orders", "request"),
        ("orders", "order created"),
        ("orders", "order confirmed"),
        ("orders", "webhook delivery failed; will retry"),
        ("orders", "webhook delivered"),
    }
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["span_id"]) for r in lines if "worker" in r)
    runtime = [r for r in live.logs() if r.get("source") == "local-runtime" and r.get("trace_id") == trace_id]
    assert [r["path"] for r in runtime] == ["/api/orders"]  # the access line names the trace too


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "x" * 5000,
    ],
)
def test_an_invalid_traceparent_starts_a_new_trace_never_an_error(api, value):
    answer = api.get("/health", headers={"traceparent": value, "tracestate": "vendor=kept-only-if-valid"})
    assert answer.status_code == 200
    trace_id = trace_of(answer)
    assert trace_id != "0" * 32 and trace_id not in value.lower()


def test_a_valid_traceparent_is_continued_and_server_timing_names_every_worker(api):
    trace_id = secrets.token_hex(16)
    answer = api.get("/health", headers={"traceparent": traceparent(trace_id)})
    assert trace_of(answer) == trace_id
    workers = dict(re.findall(r"(\w+);dur=([\d.]+)", answer.headers["server-timing"]))
    assert set(workers) == {"gateway", "users", "orders"}
    assert all(float(ms) > 0 for ms in workers.values())


def test_data_points_are_written_for_requests_messages_and_runs(local, api, user):
    request_id = f"points-{uuid.uuid4().hex}"
    created = api.post("/api/orders", json=ORDER, headers={**user.headers, "X-Request-ID": request_id})
    assert created.status_code == 201
    written = wait_for_points(api, f"blob7 = '{request_id}'", 3)
    kinds = {(p["worker"], p["kind"], p["route"], p["method"]) for p in written}
    assert ("gateway", "request", "/api/orders", "POST") in kinds
    assert ("orders", "request", "/api/orders", "POST") in kinds
    assert ("orders", "message", "edge-order-events", "order.created") in kinds
    assert {p["trace_id"] for p in written} == {trace_of(created)}

    runs = "blob1 = 'users' AND blob2 = 'run'"
    before = len(points(api, runs))
    door = api.post(f"/cdn-cgi/local/scheduled?worker=users&cron={quote('0 3 * * *', safe='')}")
    assert door.status_code == 200
    after = points(api, runs)
    assert len(after) == before + 1 and after[-1]["outcome"] == "ok" and after[-1]["route"] == "0 3 * * *"
    assert after[-1]["trace_id"] not in {p["trace_id"] for p in after[:-1]}  # a trace of its own


def test_a_kv_cache_hit_reads_no_d1_rows(local, api, user):
    ids = [f"cache-{uuid.uuid4().hex}" for _ in range(2)]
    caches = [
        api.get(f"/api/users/{user.id}", headers={**user.headers, "X-Request-ID": rid}).headers["x-cache"]
        for rid in ids
    ]
    assert caches == ["MISS", "HIT"]
    miss, hit = (points(api, f"blob7 = '{rid}' AND blob1 = 'users'") for rid in ids)
    assert miss[0]["d1_rows_read"] >= 1 and miss[0]["kv_reads"] == 1
    assert hit[0]["d1_rows_read"] == 0 and hit[0]["kv_reads"] == 1
    assert hit[0]["route"] == "/api/users/{user_id}" and user.id not in hit[0]["route"]


def test_the_local_sql_door_answers_in_the_sql_apis_shape(local, api):
    answer = api.post(
        SQL_DOOR, content="SELECT count() AS n FROM edge_api_metrics", headers={"Authorization": "Bearer x"}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["meta"] == [{"name": "n", "type": "UInt64"}] and body["rows"] == 1
    assert int(body["data"][0]["n"]) > 0
    assert api.post(SQL_DOOR, content="SELECT 1").status_code == 401  # a token is required, as on Cloudflare
    refused = api.post(SQL_DOOR, content="DROP TABLE edge_api_metrics", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 400  # only reads
    wrong = api.post(SQL_DOOR, content="SELECT nope FROM edge_api_metrics", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 400 and "nope" in wrong.text


def route_rows(api: httpx.Client, admin, window: int = 60) -> dict[tuple[str, str, str, str], dict]:
    answer = api.get(f"/api/admin/metrics?window={window}", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    return {(r["worker"], r["kind"], r["route"], r["method"]): r for r in answer.json()["routes"]}


def test_admin_metrics_report_exactly_the_traffic_sent(local, api, user, admin):
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    before = route_rows(api, admin)
    for _ in range(3):
        assert api.get(f"/api/orders/{order['id']}", headers=user.headers).status_code == 200
    for _ in range(2):
        assert api.get("/api/orders/ord_missing", headers=user.headers).status_code == 404
    after = route_rows(api, admin)

    key = ("gateway", "request", "/api/orders/{id}", "GET")
    old = before.get(key, {"requests": 0, "errors_4xx": 0, "errors_5xx": 0})
    assert after[key]["requests"] - old["requests"] == 5
    assert after[key]["errors_4xx"] - old["errors_4xx"] == 2
    assert after[key]["errors_5xx"] == old["errors_5xx"]
    service = ("orders", "request", "/api/orders/{order_id}", "GET")
    assert after[service]["requests"] - before.get(service, {"requests": 0})["requests"] == 5
    metrics = ("gateway", "request", "/api/admin/metrics", "GET")
    assert after[metrics]["requests"] - before.get(metrics, {"requests": 0})["requests"] == 1  # the first call

    row = after[key]
    assert row["usd_per_million"] > 0 and row["latency_ms"]["p50"] > 0 and row["cpu_ms"]["p50"] >= 0
    assert after[service]["units_per_request"]["d1_rows_read"] <= 1  # a primary-key read


def test_admin_metrics_is_admin_only_and_validates_its_window(api, user, admin):
    assert api.get("/api/admin/metrics").status_code == 401
    assert api.get("/api/admin/metrics", headers=user.headers).status_code == 403
    for window in ("0", "1441", "soon"):
        assert api.get(f"/api/admin/metrics?window={window}", headers=admin.headers).status_code == 422
    answer = api.get("/api/admin/metrics?window=1", headers=admin.headers)
    assert answer.status_code == 200 and answer.json()["window_minutes"] == 1
    assert answer.json()["prices"]["read_on"]


def wait_for_trace(api: httpx.Client, admin, trace_id: str, spans: int, timeout: float = 30) -> dict:
    """The trace as GET /api/admin/traces shows it, once it has `spans` spans."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api.get("/api/admin/traces?window=10&limit=100", headers=admin.headers)
        assert answer.status_code == 200, answer.text
        found = [item for item in answer.json()["items"] if item["trace_id"] == trace_id]
        if (found and len(found[0]["spans"]) >= spans) or time.monotonic() > deadline:
            assert found, f"trace {trace_id} not listed"
            return found[0]
        time.sleep(0.3)


def test_admin_traces_show_an_orders_trace_with_its_route_status_and_time_per_worker(local, api, user, admin):
    created = api.post("/api/orders", json=ORDER, headers=user.headers)
    assert created.status_code == 201
    trace = wait_for_trace(api, admin, trace_of(created), spans=3)  # gateway, orders, then the queue consumer
    assert (trace["method"], trace["route"], trace["status"], trace["outcome"]) == ("POST", "/api/orders", 201, "ok")
    kinds = [(span["worker"], span["kind"], span["route"]) for span in trace["spans"]]
    assert ("gateway", "request", "/api/orders") in kinds and ("orders", "request", "/api/orders") in kinds
    assert ("orders", "message", "edge-order-events") in kinds
    assert set(trace["duration_ms"]) == {"gateway", "orders"} and all(ms > 0 for ms in trace["duration_ms"].values())
    gateway = next(span for span in trace["spans"] if span["worker"] == "gateway")
    assert trace["duration_ms"]["gateway"] == gateway["wall_ms"]


def test_admin_traces_list_the_newest_first_up_to_the_limit(local, api, admin):
    sent = [trace_of(api.get("/health")) for _ in range(3)]
    for trace_id in sent:
        wait_for_trace(api, admin, trace_id, spans=1)
    answer = api.get("/api/admin/traces?window=10&limit=2", headers=admin.headers)
    assert answer.status_code == 200 and answer.json()["window_minutes"] == 10
    items = answer.json()["items"]
    assert len(items) == 2 and [item["started_at"] for item in items] == sorted(
        (item["started_at"] for item in items), reverse=True
    )


def test_admin_traces_is_admin_only_and_validates_its_query(api, user, admin):
    assert api.get("/api/admin/traces").status_code == 401
    assert api.get("/api/admin/traces", headers=user.headers).status_code == 403
    for query in ("window=0", "window=1441", "limit=0", "limit=101", "limit=some", "other=1"):
        assert api.get(f"/api/admin/traces?{query}", headers=admin.headers).status_code == 422, query
