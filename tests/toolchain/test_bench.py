"""scripts/bench runs end to end: a tiny run (no timing asserted, the figures mean nothing
at this size) must still measure every route in every framework and write the chart and
the tables."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.toolchain.tools import ROOT

ROUTES = ("health", "user_hit", "user_miss", "login", "order_create", "orders_list")
WORKERS = (
    "gateway",
    "users",
    "orders",
    "bare_gateway",
    "bare_users",
    "bare_orders",
    "fastapi_gateway",
    "fastapi_users",
    "fastapi_orders",
    "floor",
)
SCALING_ROUTES = ("list", "get", "cancel", "create", "replay")
BENCH_TIMEOUT_S = 900


def _positive(stats: dict[str, Any], where: str) -> None:
    for key in ("p50_ms", "p99_ms"):
        assert stats[key] > 0, f"{where}.{key} is {stats[key]}"


def test_bench_writes_results_chart_and_tables(tmp_path: Path) -> None:
    run = subprocess.run(
        [str(ROOT / "scripts" / "bench"), "--requests", "5", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert set(results["routes"]) == set(ROUTES)
    for key, route in results["routes"].items():
        for framework in ("ours", "telemetry_off", "fastapi"):
            for part in ("gateway", "service", "total"):
                _positive(route[framework][part], f"{key}.{framework}.{part}")
        _positive(route["floor"], f"{key}.floor")
        assert route["ratio_to_fastapi"]["p50"] > 0 and route["ratio_to_floor"]["p50"] > 0
        assert set(route["telemetry_overhead_p50_ms"]) == set(route["ours"]["workers"])
        assert route["ours"]["units"]["gateway"].get("subrequests", 0) >= 1  # every route reaches a service
    for size, routes in results["scaling_d1_rows_per_request"].items():
        assert set(routes) == set(SCALING_ROUTES), size
        assert routes["list"]["d1_rows_read"] > 0 and routes["create"]["d1_rows_written"] > 0
    _positive(results["webcrypto_pbkdf2_ms"], "webcrypto_pbkdf2_ms")
    assert set(results["cold_start"]) == set(WORKERS) == set(results["memory"])
    assert all(cold["total_ms"] > 0 and cold["heap_after_start_mb"] > 0 for cold in results["cold_start"].values())
    assert all(memory["after_10000_mb"] > 0 for memory in results["memory"].values())
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "results:begin" in readme and "| GET /health |" in readme and "results:end" in readme
    assert "Telemetry's overhead" in readme and "Cost per million requests" in readme and "10,000 orders" in readme
