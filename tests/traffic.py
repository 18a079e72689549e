"""What a test run sent and got back, for the deploy gate; and headers it adds to every request.

`scripts/deploy` runs the smoke subset against a deployment between the steps of a
gradual rollout, and decides from the run's own traffic: `--traffic-report FILE` writes
the number of requests, the 5xx among them and the latency percentiles of every request
any test sent (through any httpx client). `--header 'Name: value'` adds a header to every
request, such as `Cloudflare-Workers-Version-Overrides`, which sends the run to the new
versions while the rest of the traffic still goes by the rollout's percentages.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest


def parse_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():
        raise pytest.UsageError(f"--header expects 'Name: value', got {raw!r}")
    return name.strip(), value.strip()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)] if ordered else 0.0


def summary(exchanges: list[tuple[int, float]]) -> dict[str, Any]:
    """Requests, 5xx and latency (ms) of (status, milliseconds) pairs."""
    latencies = [ms for _, ms in exchanges]
    server_errors = sum(1 for status, _ in exchanges if status >= 500)
    return {
        "requests": len(exchanges),
        "server_errors": server_errors,
        "server_error_rate": server_errors / len(exchanges) if exchanges else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies, default=0.0), 1),
        },
    }


class Traffic:
    """Wraps `httpx.Client.send` for the session: adds the headers, times every exchange."""

    def __init__(self, headers: list[tuple[str, str]], report: Path | None) -> None:
        self.headers = headers
        self.report = report
        self.exchanges: list[tuple[int, float]] = []
        self._send: Callable[..., httpx.Response] = httpx.Client.send

    def pytest_sessionstart(self) -> None:
        send, traffic = self._send, self

        def timed_send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            for name, value in traffic.headers:
                request.headers.setdefault(name, value)
            start = time.perf_counter()
            response = send(client, request, **kwargs)
            traffic.exchanges.append((response.status_code, (time.perf_counter() - start) * 1000))
            return response

        httpx.Client.send = timed_send  # type: ignore[method-assign]

    def pytest_sessionfinish(self) -> None:
        httpx.Client.send = self._send  # type: ignore[method-assign]
        if self.report is not None:
            self.report.parent.mkdir(parents=True, exist_ok=True)
            self.report.write_text(json.dumps(summary(self.exchanges), indent=2) + "\n", encoding="utf-8")


def add_options(parser: pytest.Parser) -> None:
    parser.addoption(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="add this header to every request the tests send (repeatable)",
    )
    parser.addoption(
        "--traffic-report",
        default=None,
        metavar="FILE",
        help="write the run's requests, 5xx and latency percentiles to FILE as JSON (the deploy gate reads it)",
    )


def register(config: pytest.Config) -> None:
    headers = [parse_header(raw) for raw in config.getoption("--header")]
    report = config.getoption("--traffic-report")
    if headers or report:
        config.pluginmanager.register(Traffic(headers, Path(report) if report else None), "traffic")
