"""Telemetry in CPython: the request, message and run scopes, what the adapters count and
carry, the data point layout, and the log lines' trace ids."""

import asyncio
import json
import re

import pytest

from shared import metrics
from shared.adapters import services
from shared.adapters.d1 import D1
from shared.adapters.kv import WorkersKv
from shared.adapters.queue import QueuePublisher
from shared.adapters.services import ServiceClient
from shared.adapters.webhook import WebhookNotifier
from shared.app import WorkerApp
from shared.http import HttpRequest, Router, json_response
from shared.metrics import DOUBLES, DataPoint, column
from shared.telemetry import Telemetry, trace_headers

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE}-00f067aa0ba902b7-01"


class Points:
    def __init__(self) -> None:
        self.written: list[DataPoint] = []

    def write(self, point: DataPoint) -> None:
        self.written.append(point)


class Statement:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def bind(self, *params):
        return self

    async def all(self):
        return {"results": [{"id": 1}], "meta": self.meta}

    async def run(self):
        return {"results": [], "meta": {**self.meta, "changes": 1}}


class FakeD1:
    def prepare(self, sql: str) -> Statement:
        return Statement({"rows_read": 7, "rows_written": 2})


class FakeKv:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key):
        return self.data.get(key)

    async def put(self, key, value, options):
        self.data[key] = value

    async def delete(self, key):
        self.data.pop(key, None)


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, body):
        self.sent.append(body)


def app_with(handler, points: Points) -> WorkerApp:
    router = Router()
    router.add("GET", "/things/{id}", handler)
    return WorkerApp("orders", router, None, telemetry=Telemetry("orders", points))


def get(app: WorkerApp, path: str, headers: dict[str, str] | None = None):
    return asyncio.run(app.handle(HttpRequest("GET", f"https://x.invalid{path}", headers or {}, b"", "req-1")))


def test_a_request_continues_the_callers_trace_counts_its_units_and_writes_one_point(capsys):
    points, kv, queue = Points(), WorkersKv(FakeKv()), QueuePublisher(FakeQueue())

    async def handler(request, ctx):
        await D1(FakeD1()).all("SELECT 1")
        await kv.get_json("a")
        await kv.put_json("a", {"x": 1}, 60)
        await kv.delete("a")
        await queue.send({"type": "thing.done"})
        return json_response({"ok": True})

    response = get(app_with(handler, points), "/things/ord_123", {"traceparent": INCOMING})
    [point] = points.written
    assert point.trace_id == TRACE and point.route == "/things/{id}" and point.kind == "request"
    assert (point.worker, point.method, point.status, point.outcome, point.request_id) == (
        "orders",
        "GET",
        200,
        "ok",
        "req-1",
    )
    assert point.units == {
        "d1_rows_read": 7,
        "d1_rows_written": 2,
        "kv_reads": 1,
        "kv_writes": 1,
        "kv_deletes": 1,
        "queue_messages": 1,
        "d1_queries": 1,
    }  # no subrequest spent, so none counted: the point writes it as 0
    assert point.as_analytics_engine()["doubles"][DOUBLES.index("subrequests")] == 0
    assert point.wall_ms >= point.cpu_ms >= 0
    timing = response.headers["Server-Timing"]
    assert re.fullmatch(rf'traceparent;desc="00-{TRACE}-[0-9a-f]{{16}}-01", orders;dur=\d+\.\d', timing), timing
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"request"' in x]
    assert line["trace_id"] == TRACE and line["span_id"] in timing and line["units"] == point.units
    assert line["route"] == "/things/{id}" and line["cpu_ms"] <= line["duration_ms"]


def test_an_invalid_traceparent_starts_a_new_trace_and_is_no_error():
    points = Points()

    async def handler(request, ctx):
        return json_response({})

    response = get(app_with(handler, points), "/things/1", {"traceparent": f"00-{TRACE.upper()}-00f067aa0ba902b7-01"})
    assert response.status == 200 and points.written[0].trace_id != TRACE
    assert points.written[0].trace_id in response.headers["Server-Timing"]


def test_an_unrouted_request_is_counted_under_no_route_never_its_path():
    points = Points()
    response = get(app_with(None, points), "/nope/user@example.com")
    assert response.status == 404 and points.written[0].route == "-" and points.written[0].outcome == "client_error"


def test_the_adapters_carry_the_current_trace_and_bring_back_the_callees_timing(monkeypatch):
    sent: dict = {}

    class Binding:
        async def fetch(self, url, options):
            sent.update(options["headers"])
            return Answer()

    class Answer:
        status = 200
        headers = (("server-timing", 'traceparent;desc="x", users;dur=1.5'),)

        async def arrayBuffer(self):
            return Bytes()

    class Bytes:
        def to_bytes(self):
            return b"{}"

    monkeypatch.setattr(services, "header_pairs", lambda response: list(response.headers))  # no JS in CPython
    points = Points()

    async def handler(request, ctx):
        await ServiceClient("users", Binding(), 1).request("GET", "/x", {"x-request-id": "r"})
        return json_response({})

    response = get(app_with(handler, points), "/things/1", {"traceparent": INCOMING})
    assert sent["traceparent"].startswith(f"00-{TRACE}-") and sent["x-request-id"] == "r"
    assert response.headers["Server-Timing"].endswith(", users;dur=1.5")
    assert points.written[0].units["subrequests"] == 1


def test_a_message_continues_the_trace_in_its_body_and_a_replay_keeps_it():
    points, queue = Points(), FakeQueue()
    telemetry = Telemetry("orders", points)
    body = {"type": "order.created", "id": "evt_1", "request_id": "req-9", "traceparent": INCOMING}

    async def handle():
        await QueuePublisher(queue).send(dict(body))  # a replay of a stored body
        await QueuePublisher(queue).send({"type": "user.deleted"})  # a fresh event
        return "verdict"

    assert asyncio.run(telemetry.message("edge-order-events", body, handle, lambda v: "ack")) == "verdict"
    [point] = points.written
    assert (point.kind, point.route, point.method, point.outcome, point.trace_id, point.request_id) == (
        "message",
        "edge-order-events",
        "order.created",
        "ack",
        TRACE,
        "req-9",
    )
    replayed, fresh = queue.sent
    assert replayed["traceparent"] == INCOMING  # the original trace continues
    assert fresh["traceparent"].startswith(f"00-{TRACE}-") and fresh["traceparent"] != INCOMING


def test_a_scheduled_run_starts_its_own_trace_and_is_counted_when_it_fails():
    points = Points()
    telemetry = Telemetry("users", points)

    async def fail():
        raise RuntimeError("boom")

    async def succeed():
        return trace_headers()["traceparent"]

    first = asyncio.run(telemetry.run("0 3 * * *", succeed))
    with pytest.raises(RuntimeError):
        asyncio.run(telemetry.run("0 3 * * *", fail))
    ok, failed = points.written
    assert (ok.kind, ok.route, ok.method, ok.outcome, failed.outcome) == (
        "run",
        "0 3 * * *",
        "scheduled",
        "ok",
        "failed",
    )
    assert first.split("-")[1] == ok.trace_id != failed.trace_id


def test_a_workflow_step_attempt_continues_the_trace_that_started_the_workflow():
    points = Points()
    telemetry = Telemetry("users", points)
    started_by = {"traceparent": INCOMING, "tracestate": "vendor=kept"}

    async def attempt():
        return trace_headers()

    async def fail():
        raise RuntimeError("orders failed")

    headers = asyncio.run(telemetry.step("account-erasure", "purge account", started_by, "req-9", attempt))
    with pytest.raises(RuntimeError):
        asyncio.run(telemetry.step("account-erasure", "purge account", started_by, "req-9", fail))
    ok, failed = points.written
    assert (ok.kind, ok.route, ok.method, ok.request_id, ok.outcome, failed.outcome) == (
        "step",
        "account-erasure",
        "purge account",
        "req-9",
        "ok",
        "failed",
    )
    assert ok.trace_id == failed.trace_id == TRACE and headers["tracestate"] == "vendor=kept"
    assert headers["traceparent"] != INCOMING  # a span of its own in that trace


def test_a_webhook_attempt_carries_the_trace_as_a_header_not_in_its_body():
    calls: list[tuple[str, dict]] = []

    async def transport(url, body, headers):
        calls.append((body, headers))
        return 204, ""

    notifier = WebhookNotifier("https://hook.invalid", "s" * 32, transport)
    body = {"type": "order.created", "id": "evt_1", "traceparent": INCOMING}
    asyncio.run(Telemetry("orders", None).message("q", body, lambda: notifier.notify(body), lambda _: "ack"))
    [(sent, headers)] = calls
    assert "traceparent" not in json.loads(sent) and headers["traceparent"].startswith(f"00-{TRACE}-")


def test_outside_a_unit_of_work_nothing_is_counted_or_carried():
    queue = FakeQueue()
    asyncio.run(QueuePublisher(queue).send({"type": "x"}))
    assert queue.sent == [{"type": "x"}] and trace_headers() == {}


def test_the_data_point_layout_is_the_documented_one_and_within_the_platforms_limits():
    """The table in shared/metrics.py's docstring (and the README's) is the code's layout."""
    documented = dict(re.findall(r"^\| (blob\d+|double\d+) +\| (\w+)", metrics.__doc__ or "", re.MULTILINE))
    assert documented == {column(name): name for name in (*metrics.BLOBS, *metrics.DOUBLES)}
    point = DataPoint("gateway", "request", "/x", "GET", "ok", TRACE, "r" * 128, 200, 1.0, 0.5, {"kv_reads": 1})
    written = point.as_analytics_engine()
    assert len(written["blobs"]) <= 20 and len(written["doubles"]) <= 20
    assert len(written["indexes"]) == 1 and len(written["indexes"][0].encode()) <= 96
    assert sum(len(b.encode()) for b in written["blobs"]) <= 16 * 1024
    assert written["doubles"][metrics.DOUBLES.index("kv_reads")] == 1.0


def test_telemetry_off_runs_the_unit_of_work_bare(capsys):
    points = Points()

    async def handler(request, ctx):
        assert trace_headers() == {}
        return json_response({})

    router = Router()
    router.add("GET", "/things/{id}", handler)
    app = WorkerApp("orders", router, None, telemetry=Telemetry("orders", points, enabled=False))
    response = get(app, "/things/1", {"traceparent": INCOMING})
    assert response.status == 200 and "Server-Timing" not in response.headers and points.written == []
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"request"' in x]
    assert "trace_id" not in line and line["route"] == "/things/{id}"
