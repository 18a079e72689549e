"""GET /api/admin/metrics: what the Analytics Engine data points add up to, per worker and route."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.users import Timestamp

MAX_WINDOW_MINUTES = 1440


class MetricsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: Annotated[int, Field(ge=1, le=MAX_WINDOW_MINUTES, description="Minutes back from now")] = 60


class Percentiles(BaseModel):
    p50: float
    p95: float | None = None
    p99: float


class Units(BaseModel):
    """Billable units per unit of work (mean over the window), as the adapters counted them."""

    d1_rows_read: float
    d1_rows_written: float
    kv_reads: float
    kv_writes: float
    kv_deletes: float
    queue_messages: float
    subrequests: float


class RouteMetrics(BaseModel):
    worker: Annotated[str, Field(examples=["gateway"])]
    kind: Annotated[
        str, Field(description="request, message, run or step (a workflow step attempt)", examples=["request"])
    ]
    route: Annotated[str, Field(description="Route template, queue, cron or workflow", examples=["/api/orders/{id}"])]
    method: Annotated[
        str, Field(description="HTTP method, event type, `scheduled` or a workflow step", examples=["GET"])
    ]
    requests: Annotated[int, Field(description="Units of work: requests, messages or runs")]
    errors_4xx: int
    errors_5xx: int
    failed: Annotated[int, Field(description="Messages retried and runs that failed")]
    latency_ms: Percentiles
    cpu_ms: Percentiles
    units_per_request: Units
    usd_per_million: Annotated[float, Field(description="Estimated cost of a million such units of work")]
    usd_window: Annotated[float, Field(description="Estimated cost of this window's units of work")]


class MinuteMetrics(BaseModel):
    minute: Timestamp
    requests: int
    errors_4xx: Annotated[int, Field(description="4xx answers")]
    errors: Annotated[int, Field(description="5xx answers")]
    p95_ms: float


class MetricsReport(BaseModel):
    window_minutes: int
    routes: list[RouteMetrics]
    series: Annotated[
        list[MinuteMetrics], Field(description="The gateway's requests, 4xx, 5xx and p95 per minute, oldest first")
    ]
    prices: Annotated[dict[str, str], Field(description="Where the prices come from, and when they were read")]
