"""The Analytics Engine data point every unit of work writes: its layout, in this one place.

One point per request, per queue message, per scheduled run and per workflow step attempt,
per worker that handled it (`shared.telemetry` writes them; `gateway.metrics` reads them back through the SQL
API). Analytics Engine stores positional columns, so this table is the schema:

| column   | field          | what it holds                                                        |
|----------|----------------|----------------------------------------------------------------------|
| index1   | worker         | the sampling key: `gateway`, `users` or `orders`                     |
| blob1    | worker         | the same, to group and filter by                                     |
| blob2    | kind           | `request`, `message`, `run` or `step`                                |
| blob3    | route          | route template (`/api/orders/{id}`, never an id), queue, cron, workflow; `-` |
| blob4    | method         | HTTP method; a message's event type; `scheduled`; the step's name    |
| blob5    | outcome        | `ok`, `client_error`, `server_error`; `ack`, `retry`; `ok`, `failed`  |
| blob6    | trace_id       | the W3C trace id (32 hex)                                            |
| blob7    | request_id     | the request id the work belongs to (`-` for a run)                   |
| double1  | status         | HTTP status (0 for a message, a run or a step)                       |
| double2  | wall_ms        | wall time of the unit in this worker                                 |
| double3  | cpu_ms         | wall time minus the time spent waiting on bindings (Python CPU)      |
| double4  | d1_rows_read   | from D1's result `meta.rows_read`                                    |
| double5  | d1_rows_written| from D1's result `meta.rows_written`                                 |
| double6  | kv_reads       | KV `get` calls                                                       |
| double7  | kv_writes      | KV `put` calls                                                       |
| double8  | kv_deletes     | KV `delete` calls                                                    |
| double9  | queue_messages | messages sent to a queue                                             |
| double10 | subrequests    | service-binding calls and outbound fetches                           |
| double11 | d1_queries     | D1 statements run                                                    |

The README's "Metrics" section shows the same table; `tests/unit/test_metrics.py` holds
this one to the code.
"""

from dataclasses import dataclass, field
from typing import Any

DATASET = "edge_api_metrics"  # `dataset` of every config's [[analytics_engine_datasets]]
BINDING = "METRICS"

BLOBS = ("worker", "kind", "route", "method", "outcome", "trace_id", "request_id")
UNITS = (
    "d1_rows_read",
    "d1_rows_written",
    "kv_reads",
    "kv_writes",
    "kv_deletes",
    "queue_messages",
    "subrequests",
    "d1_queries",
)
DOUBLES = ("status", "wall_ms", "cpu_ms", *UNITS)
INDEX = "worker"

REQUEST, MESSAGE, RUN, STEP = "request", "message", "run", "step"
_ZEROS = (0,) * len(UNITS)


def column(name: str) -> str:
    """The Analytics Engine column that holds field `name` (`blob3`, `double2`, ...)."""
    if name in BLOBS:
        return f"blob{BLOBS.index(name) + 1}"
    return f"double{DOUBLES.index(name) + 1}"


@dataclass(slots=True)
class DataPoint:
    worker: str
    kind: str
    route: str
    method: str
    outcome: str
    trace_id: str
    request_id: str
    status: int
    wall_ms: float
    cpu_ms: float
    units: dict[str, int] = field(default_factory=dict)  # keys from UNITS; a missing one is 0

    def as_analytics_engine(self) -> dict[str, Any]:
        """The argument of `writeDataPoint`."""
        blobs = [self.worker, self.kind, self.route, self.method, self.outcome, self.trace_id, self.request_id]
        # JSON numbers, which JS reads as doubles; map() keeps the per-unit lookups out of Python frames.
        doubles = [self.status, self.wall_ms, self.cpu_ms, *map(self.units.get, UNITS, _ZEROS)]
        return {"indexes": [self.worker], "blobs": blobs, "doubles": doubles}  # in BLOBS' and DOUBLES' order


def outcome_of_status(status: int) -> str:
    if status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "ok"
