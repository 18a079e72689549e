"""GET /api/admin/traces in CPython: the queries name the documented columns and inline only
well-formed trace ids, and the points of a trace become its spans with the gateway's request as root."""

import pytest

from contracts.traces import Trace
from gateway.traces import recent_traces, spans_query, trace_ids_query

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"


def point(trace_id: str, at: str, worker: str, kind: str = "request", **fields) -> dict:
    base = {"route": "/api/orders", "method": "POST", "outcome": "ok", "status": 201.0, "wall_ms": 10.0}
    return {"trace_id": trace_id, "at": at, "worker": worker, "kind": kind, **base, **fields}


def test_the_newest_traces_are_picked_by_their_first_point_within_the_window():
    query = trace_ids_query(15, 20)
    assert "blob6 AS trace_id" in query and "MIN(timestamp) AS started_at" in query
    assert "INTERVAL '15' MINUTE" in query and "ORDER BY started_at DESC" in query and "LIMIT 20" in query


def test_the_spans_query_reads_the_layouts_columns_for_those_traces_only():
    query = spans_query(60, [TRACE, OTHER])
    assert f"blob6 IN ('{TRACE}', '{OTHER}')" in query
    assert "blob1 AS worker" in query and "double1 AS status" in query and "double2 AS wall_ms" in query


@pytest.mark.parametrize("bad", ["x' OR '1'='1", TRACE.upper(), TRACE[:-1], ""])
def test_only_well_formed_trace_ids_are_inlined(bad):
    with pytest.raises(ValueError):
        spans_query(60, [TRACE, bad])


def test_a_trace_is_rooted_at_the_gateways_request_and_sums_the_time_per_worker():
    rows = [
        point(TRACE, "2026-12-03 10:00:01", "orders", wall_ms=6.0),  # the service answers before the gateway
        point(TRACE, "2026-12-03 10:00:01", "gateway", wall_ms=9.5),
        point(
            TRACE,
            "2026-12-03 10:00:02",
            "orders",
            "message",
            route="edge-order-events",
            method="order.created",
            outcome="ack",
            status=0.0,
            wall_ms=4.25,
        ),
        point(OTHER, "2026-12-03 10:00:03", "users", "run", route="0 3 * * *", method="scheduled", status=0.0),
    ]
    newest_first = recent_traces([OTHER, TRACE], rows)
    for trace in newest_first:
        Trace.model_validate(trace)
    run, order = newest_first
    assert order["trace_id"] == TRACE and order["started_at"] == "2026-12-03T10:00:01Z"
    assert (order["method"], order["route"], order["status"]) == ("POST", "/api/orders", 201)
    assert order["duration_ms"] == {"orders": 10.25, "gateway": 9.5}
    assert [span["kind"] for span in order["spans"]] == ["request", "request", "message"]
    assert (run["route"], run["status"], run["outcome"]) == ("0 3 * * *", 0, "ok")  # no gateway: its first span


def test_a_trace_id_without_points_in_the_window_is_left_out():
    assert recent_traces([TRACE], []) == []
