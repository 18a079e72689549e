"""GET /api/admin/traces: the recent traces, from the data points that carry their trace id.

Two queries through the Analytics Engine SQL API: the newest trace ids of the window,
then every point of those traces (`shared.metrics` layout: blob6 is the trace id). The
points of one trace are its spans, one per unit of work per worker; the gateway's request
(when the trace has one) names the trace's route and status.
"""

import re
from typing import Any

from contracts.traces import TracesQuery
from gateway.context import GatewayContext
from gateway.metrics import GATEWAY, ask, number, since, sql_api, timestamp
from shared.http import HttpRequest, HttpResponse, json_response
from shared.metrics import DATASET, REQUEST, column
from shared.validation import parse_query

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
SPAN_FIELDS = ("worker", "kind", "route", "method", "outcome", "status", "wall_ms")


def trace_ids_query(window: int, limit: int, dataset: str = DATASET) -> str:
    """The ids of the `limit` traces that started last within the window."""
    return f"""SELECT {column("trace_id")} AS trace_id, MIN(timestamp) AS started_at
FROM {dataset}
WHERE {since(window)}
GROUP BY trace_id
ORDER BY started_at DESC
LIMIT {int(limit)}"""


def spans_query(window: int, trace_ids: list[str], dataset: str = DATASET) -> str:
    """Every point of these traces within the window, oldest first. The ids are inlined
    (the SQL API takes no parameters), so only well-formed ones are accepted."""
    if not all(_TRACE_ID.fullmatch(trace_id) for trace_id in trace_ids):
        raise ValueError("trace ids are 32 lower-case hex digits")
    fields = ", ".join(f"{column(name)} AS {name}" for name in SPAN_FIELDS)
    ids = ", ".join(f"'{trace_id}'" for trace_id in trace_ids)
    return f"""SELECT {column("trace_id")} AS trace_id, timestamp AS at, {fields}
FROM {dataset}
WHERE {since(window)} AND {column("trace_id")} IN ({ids})
ORDER BY at"""


def span(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": timestamp(row["at"]),
        **{name: str(row[name]) for name in ("worker", "kind", "route", "method", "outcome")},
        "status": int(number(row["status"])),
        "wall_ms": round(number(row["wall_ms"]), 2),
    }


def trace(trace_id: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """A trace from its spans (oldest first): its root is the gateway's request, else its first span."""
    root = next((s for s in spans if s["worker"] == GATEWAY and s["kind"] == REQUEST), spans[0])
    duration: dict[str, float] = {}
    for each in spans:
        duration[each["worker"]] = round(duration.get(each["worker"], 0.0) + each["wall_ms"], 2)
    return {
        "trace_id": trace_id,
        "started_at": spans[0]["at"],
        **{name: root[name] for name in ("route", "method", "status", "outcome")},
        "duration_ms": duration,
        "spans": spans,
    }


def recent_traces(ids: list[str], span_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The traces in the order of `ids` (newest first), each with its spans."""
    spans: dict[str, list[dict[str, Any]]] = {}
    for row in span_rows:
        spans.setdefault(str(row["trace_id"]), []).append(span(row))
    return [trace(trace_id, spans[trace_id]) for trace_id in ids if trace_id in spans]


async def traces(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """503 when the SQL API is not configured or fails, as GET /api/admin/metrics."""
    query = parse_query(request, TracesQuery)
    analytics = sql_api(ctx)
    rows = await ask(request, analytics, trace_ids_query(query.window, query.limit, analytics.dataset))
    ids = [str(row["trace_id"]) for row in rows if _TRACE_ID.fullmatch(str(row["trace_id"]))]
    span_rows = await ask(request, analytics, spans_query(query.window, ids, analytics.dataset)) if ids else []
    return json_response({"window_minutes": query.window, "items": recent_traces(ids, span_rows)})
