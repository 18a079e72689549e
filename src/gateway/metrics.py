"""GET /api/admin/metrics: the data points (shared.metrics) summed up through the Analytics
Engine SQL API, priced with gateway.prices.

The same two query texts run against Cloudflare's SQL API and the local runtime's door
(README, "Metrics"). Every sum is weighted by `_sample_interval`, so sampled data still
adds up to the traffic it stands for (locally nothing is sampled).
"""

import asyncio
from typing import Any

from contracts.metrics import MetricsQuery
from gateway.context import GatewayContext
from gateway.prices import READ_ON, SOURCE, usd_per_million
from shared.adapters.analytics import AnalyticsSql, SqlApiError
from shared.errors import HttpProblem
from shared.http import HttpRequest, HttpResponse, json_response
from shared.metrics import DATASET, REQUEST, UNITS, column
from shared.validation import parse_query

GATEWAY = "gateway"
_REPORTED_UNITS = tuple(unit for unit in UNITS if unit != "d1_queries")


def _weighted_quantile(level: float, field: str) -> str:
    return f"quantileExactWeighted({level})({column(field)}, _sample_interval)"


_STATUS = column("status")
# The sampled count of 4xx and of 5xx answers, as every query here writes them.
_4XX = f"sumIf(_sample_interval, {_STATUS} >= 400 AND {_STATUS} < 500)"
_5XX = f"sumIf(_sample_interval, {_STATUS} >= 500)"


def since(window: int) -> str:
    """The WHERE condition of the last `window` minutes."""
    return f"timestamp > NOW() - INTERVAL '{int(window)}' MINUTE"


def routes_query(window: int, dataset: str = DATASET) -> str:
    """Per worker, kind, route and method: counts, percentiles and the sum of every unit."""
    sums = ",\n  ".join(f"SUM(_sample_interval * {column(unit)}) AS {unit}" for unit in ("cpu_ms", *_REPORTED_UNITS))
    return f"""SELECT {column("worker")} AS worker, {column("kind")} AS kind, {column("route")} AS route,
  {column("method")} AS method,
  SUM(_sample_interval) AS requests,
  {_4XX} AS errors_4xx,
  {_5XX} AS errors_5xx,
  sumIf(_sample_interval, {column("outcome")} IN ('retry', 'failed')) AS failed,
  {_weighted_quantile(0.5, "wall_ms")} AS wall_p50,
  {_weighted_quantile(0.95, "wall_ms")} AS wall_p95,
  {_weighted_quantile(0.99, "wall_ms")} AS wall_p99,
  {_weighted_quantile(0.5, "cpu_ms")} AS cpu_p50,
  {_weighted_quantile(0.99, "cpu_ms")} AS cpu_p99,
  {sums}
FROM {dataset}
WHERE {since(window)}
GROUP BY worker, kind, route, method
ORDER BY worker, kind, route, method"""


def _gateway_requests(window: int) -> str:
    return f"{since(window)} AND {column('worker')} = '{GATEWAY}' AND {column('kind')} = '{REQUEST}'"


_GATEWAY_TOTALS = f"""SUM(_sample_interval) AS requests,
  {_5XX} AS errors,
  {_weighted_quantile(0.95, "wall_ms")} AS p95_ms"""


def series_query(window: int, dataset: str = DATASET) -> str:
    """The gateway's requests, 4xx, 5xx and p95 latency per minute."""
    return f"""SELECT toStartOfInterval(timestamp, INTERVAL '1' MINUTE) AS minute,
  {_GATEWAY_TOTALS},
  {_4XX} AS errors_4xx
FROM {dataset}
WHERE {_gateway_requests(window)}
GROUP BY minute
ORDER BY minute"""


def traffic_query(window: int, dataset: str = DATASET) -> str:
    """The gateway's requests, 5xx and p95 latency over the whole window (the alert rules' traffic)."""
    return f"""SELECT {_GATEWAY_TOTALS}
FROM {dataset}
WHERE {_gateway_requests(window)}"""


def number(value: Any) -> float:
    """The SQL API writes 64-bit integers as JSON strings (ClickHouse's default)."""
    return float(value or 0)


def route_metrics(row: dict[str, Any]) -> dict[str, Any]:
    requests = int(number(row["requests"]))
    per = 1 / requests if requests else 0.0
    units = {unit: round(number(row[unit]) * per, 3) for unit in _REPORTED_UNITS}
    cpu_mean = number(row["cpu_ms"]) * per
    billed = not (row["kind"] == REQUEST and row["worker"] != GATEWAY)
    per_million = usd_per_million({**units, "cpu_ms": cpu_mean}, billed_request=billed)
    return {
        "worker": row["worker"],
        "kind": row["kind"],
        "route": row["route"],
        "method": row["method"],
        "requests": requests,
        "errors_4xx": int(number(row["errors_4xx"])),
        "errors_5xx": int(number(row["errors_5xx"])),
        "failed": int(number(row["failed"])),
        "latency_ms": {key: round(number(row[f"wall_{key}"]), 2) for key in ("p50", "p95", "p99")},
        "cpu_ms": {"p50": round(number(row["cpu_p50"]), 2), "p99": round(number(row["cpu_p99"]), 2)},
        "units_per_request": units,
        "usd_per_million": round(per_million, 4),
        "usd_window": round(per_million * requests / 1e6, 8),
    }


def timestamp(value: Any) -> str:
    """ClickHouse's `2026-12-03 10:15:00` (UTC) as RFC 3339."""
    return str(value).replace(" ", "T") + "Z"


def minute_metrics(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "minute": timestamp(row["minute"]),
        "requests": int(number(row["requests"])),
        "errors_4xx": int(number(row["errors_4xx"])),
        "errors": int(number(row["errors"])),
        "p95_ms": round(number(row["p95_ms"]), 2),
    }


def sql_api(ctx: GatewayContext) -> AnalyticsSql:
    """The SQL API, or 503 when it is not configured (ANALYTICS_ACCOUNT_ID, ANALYTICS_API_TOKEN)."""
    if ctx.analytics is None:
        raise HttpProblem(503, "Metrics are not configured (ANALYTICS_ACCOUNT_ID, ANALYTICS_API_TOKEN)")
    return ctx.analytics


async def ask(request: HttpRequest, analytics: AnalyticsSql, sql: str) -> list[dict[str, Any]]:
    """The rows of `sql`, or 503 (logged as a warning) when the SQL API fails."""
    try:
        return await analytics.query(sql)
    except SqlApiError as error:
        request.log.warning("metrics query failed", reason=str(error))
        raise HttpProblem(503, "The metrics store did not answer", headers={"Retry-After": "30"}) from error


async def metrics(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    window = parse_query(request, MetricsQuery).window
    analytics = sql_api(ctx)
    routes, series = await asyncio.gather(  # two independent queries, one round trip of wait
        ask(request, analytics, routes_query(window, analytics.dataset)),
        ask(request, analytics, series_query(window, analytics.dataset)),
    )
    return json_response(
        {
            "window_minutes": window,
            "routes": [route_metrics(row) for row in routes],
            "series": [minute_metrics(row) for row in series],
            "prices": {"source": SOURCE, "read_on": READ_ON},
        }
    )
