"""GET /api/admin/traces: the recent traces, put together from their Analytics Engine data points.

Every unit of work writes one point carrying its W3C trace id (`shared.metrics`, blob6),
so the points that share a trace id are that trace's spans: the gateway's request, the
services' requests over their bindings, and the queue messages and webhook deliveries
that followed.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.metrics import MAX_WINDOW_MINUTES
from contracts.users import Timestamp

TraceId = Annotated[str, Field(description="W3C trace id (32 hex)", examples=["4bf92f3577b34da6a3ce929d0e0e4736"])]


class TracesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: Annotated[int, Field(ge=1, le=MAX_WINDOW_MINUTES, description="Minutes back from now")] = 60
    limit: Annotated[int, Field(ge=1, le=100, description="Traces to return, the newest first")] = 20


class TraceSpan(BaseModel):
    """One unit of work of the trace in one worker: a data point."""

    at: Timestamp
    worker: Annotated[str, Field(examples=["users"])]
    kind: Annotated[str, Field(description="request, message or run", examples=["request"])]
    route: Annotated[str, Field(description="Route template, queue or cron", examples=["/api/users/{id}"])]
    method: Annotated[str, Field(description="HTTP method, event type or `scheduled`", examples=["GET"])]
    outcome: Annotated[str, Field(examples=["ok"])]
    status: Annotated[int, Field(description="HTTP status; 0 for a message or a run")]
    wall_ms: float


class Trace(BaseModel):
    trace_id: TraceId
    started_at: Timestamp
    route: Annotated[str, Field(description="Of the trace's first unit: the gateway's request when there is one")]
    method: str
    status: int
    outcome: str
    duration_ms: Annotated[
        dict[str, float],
        Field(description="Wall time per worker, summed over its spans", examples=[{"gateway": 9.5, "users": 4.25}]),
    ]
    spans: Annotated[list[TraceSpan], Field(description="Oldest first")]


class TracePage(BaseModel):
    window_minutes: int
    items: Annotated[list[Trace], Field(description="Newest first")]
