"""Workers Analytics Engine: writing data points, and reading them back through the SQL API.

Writing is the dataset binding's `writeDataPoint` (no I/O on the request's path: the
runtime ships the points after the invocation). Reading is an HTTPS call to
`POST <api>/accounts/<account id>/analytics_engine/sql` with a read-only API token, the
query text as the body; the answer is ClickHouse's JSON format: `{"meta", "data", "rows"}`.
The local runtime answers the same request on a loopback door (README, "Metrics").
"""

import json
import re
from functools import partial
from typing import Any

from shared.adapters.fetch import Post, post
from shared.adapters.jsvalues import js_binding, json_to_js
from shared.config import ConfigError, env_str
from shared.logging import Logger
from shared.metrics import BINDING, DATASET, DataPoint
from shared.telemetry import DataPointSink, Telemetry, awaited, count

CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"


class AnalyticsDataset(DataPointSink):
    """An `[[analytics_engine_datasets]]` binding."""

    def __init__(self, binding: Any, log: Logger) -> None:
        self._write_data_point = js_binding(binding).writeDataPoint  # the JS method, looked up once
        self._log = log

    def write(self, point: DataPoint) -> None:
        """Never fails the unit of work it describes: a refused point is a warning in the log."""
        try:
            self._write_data_point(json_to_js(point.as_analytics_engine()))
        except Exception as error:  # noqa: BLE001 - metrics must not break the request they measure
            self._log.warning("data point not written", error=repr(error), kind=point.kind, route=point.route)


class SqlApiError(Exception):
    """The SQL API refused the query or could not be reached; the message is safe to log."""


class AnalyticsSql:
    """The Analytics Engine SQL API of one account, with a token that may only read analytics."""

    def __init__(
        self,
        account_id: str,
        token: str,
        dataset: str = DATASET,
        api_base: str = CLOUDFLARE_API,
        transport: Post | None = None,
    ) -> None:
        """`dataset`: the table the queries read (each environment writes its own)."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dataset):
            raise ConfigError(f"ANALYTICS_DATASET must be a dataset name, not {dataset!r}")
        self.dataset = dataset
        self.url = f"{api_base.rstrip('/')}/accounts/{account_id}/analytics_engine/sql"
        self._token = token
        self._transport = transport or partial(post, read_body=True)  # the answer is the rows

    async def query(self, sql: str) -> list[dict[str, Any]]:
        """The rows of `sql` (`FORMAT JSON` is the API's default answer)."""
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "text/plain"}
        count("subrequests")
        try:
            status, text = await awaited(self._transport(self.url, sql, headers))
        except Exception as error:
            raise SqlApiError(f"the SQL API could not be reached ({type(error).__name__})") from error
        if status != 200:
            raise SqlApiError(f"the SQL API answered HTTP {status}: {text[:200]}")
        try:
            answer = json.loads(text)
        except ValueError:
            raise SqlApiError("the SQL API answered something that is not JSON") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise SqlApiError("the SQL API's answer has no data")
        return data


def telemetry_for(env: Any, worker: str) -> Telemetry:
    """A worker's telemetry, writing to its `METRICS` dataset when the config binds one;
    `TELEMETRY=off` turns it off (the benchmark's baseline)."""
    binding = getattr(env, BINDING, None)
    sink = AnalyticsDataset(binding, Logger(worker=worker)) if binding is not None else None
    return Telemetry(worker, sink, enabled=env_str(env, "TELEMETRY", "on").strip().lower() != "off")
