"""Load on the local runtime from a second process on loopback, at fixed concurrency.

A figure of the local runtime on this machine (Pyodide in Node, miniflare's bindings),
not of Cloudflare: it is the loop every developer and every e2e test lives in. Each
request carries its own X-Request-ID, so the runtime's access log gives its Python time
per worker (`python_ms`, as `wrangler tail` gives CPU time), and its own
CF-Connecting-IP, so the gateway's rate limit (100 per minute per client) never answers
for the load instead of the system.

    .venv/bin/python benchmarks/load.py [--requests 200] [--results benchmarks/results.json]
    .venv/bin/python benchmarks/load.py --base-url http://127.0.0.1:8787   # a running system

Starts the local runtime on a free port with a fresh state dir unless --base-url is
given, and writes its figures to the results file's "local" entry.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ["scripts/runtime/main.mjs"]
START_TIMEOUT_S = 120
LABEL = "Local runtime on this machine (Pyodide in Node, miniflare bindings): not a figure of Cloudflare"
PASSWORD = "correct horse battery"
_clients = itertools.count(1)


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    concurrency: int
    expect: int
    target: str = ""
    body: dict[str, Any] | None = None
    signed_in: bool = False


@dataclass
class Runtime:
    """The local runtime's access log, by request id (empty for a system started elsewhere)."""

    base_url: str
    python_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, stream: Any) -> None:
        for line in stream:
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("source") == "local-runtime" and "python_ms" in record:
                with self.lock:
                    self.python_ms[str(record.get("request_id"))] = record["python_ms"]


def scenarios(user_id: str) -> list[Scenario]:
    order = {"items": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250}], "currency": "EUR"}
    return [
        Scenario("404 at the gateway", "GET", "/no-such-route", 1, 404, "p50 <= 10 ms (was 27)"),
        Scenario("GET /health", "GET", "/health", 1, 200, "p50 <= 50 ms (was 197)"),
        Scenario(
            "GET /api/users/{id}, cached", "GET", f"/api/users/{user_id}", 1, 200, "p50 <= 30 ms (was 82)", None, True
        ),
        Scenario("POST /api/orders", "POST", "/api/orders", 1, 201, "", order, True),
        Scenario("GET /health", "GET", "/health", 8, 200, ">= 40 requests/s (was 5.5)"),
        Scenario("GET /api/users/{id}, cached", "GET", f"/api/users/{user_id}", 8, 200, "", None, True),
    ]


def client_ip() -> str:
    n = next(_clients)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


async def sign_up(client: httpx.AsyncClient) -> tuple[str, str]:
    """A fresh account: its id and a bearer token."""
    email = f"load-{uuid.uuid4().hex[:12]}@example.com"
    headers = {"CF-Connecting-IP": client_ip()}
    created = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Load"}, headers=headers
    )
    created.raise_for_status()
    token = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD}, headers=headers)
    token.raise_for_status()
    return created.json()["id"], token.json()["access_token"]


async def one(client: httpx.AsyncClient, scenario: Scenario, token: str) -> tuple[float, str, bool]:
    request_id = uuid.uuid4().hex
    headers = {"CF-Connecting-IP": client_ip(), "X-Request-ID": request_id}
    if scenario.signed_in:
        headers["Authorization"] = f"Bearer {token}"
    if scenario.method == "POST":
        headers["Idempotency-Key"] = request_id
    started = time.perf_counter()
    answer = await client.request(scenario.method, scenario.path, json=scenario.body, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, request_id, answer.status_code == scenario.expect


async def run(client: httpx.AsyncClient, scenario: Scenario, token: str, count: int) -> dict[str, Any]:
    """`count` requests, `scenario.concurrency` in flight at all times, after a short warm-up."""
    for _ in range(min(10, count)):
        await one(client, scenario, token)
    queue = iter(range(count))

    async def worker() -> list[tuple[float, str, bool]]:
        return [await one(client, scenario, token) for _ in queue]

    started = time.perf_counter()
    shares = await asyncio.gather(*(worker() for _ in range(scenario.concurrency)))
    wall = time.perf_counter() - started
    results = [result for share in shares for result in share]
    latencies = sorted(ms for ms, _, _ in results)
    return {
        "name": scenario.name,
        "concurrency": scenario.concurrency,
        "requests": count,
        "rps": round(count / wall, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1),
        "unexpected_status": sum(not ok for _, _, ok in results),
        "target": scenario.target,
        "request_ids": [request_id for _, request_id, _ in results],
    }


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def python_time(row: dict[str, Any], runtime: Runtime) -> dict[str, float]:
    """Median Python ms per worker over the row's requests, from the runtime's access log."""
    with runtime.lock:
        logged = [runtime.python_ms[rid] for rid in row.pop("request_ids") if rid in runtime.python_ms]
    workers = sorted({name for usage in logged for name in usage})
    return {name: round(statistics.median(usage.get(name, 0.0) for usage in logged), 2) for name in workers}


async def measure(runtime: Runtime, count: int) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=runtime.base_url, timeout=60, limits=limits) as client:
        user_id, token = await sign_up(client)
        rows = [await run(client, scenario, token, count) for scenario in scenarios(user_id)]
    await asyncio.sleep(0.5)  # the last access-log lines
    for row in rows:
        row["python_ms_p50"] = python_time(row, runtime)
    return rows


@contextmanager
def local_runtime() -> Iterator[Runtime]:
    """The local runtime on a free port, fresh state, its stdout read for the access log."""
    with tempfile.TemporaryDirectory(prefix="load-") as work:
        node = ROOT / ".venv" / "bin" / "node"
        command = [str(node), *RUNTIME, "--port", "0", "--persist-to", str(Path(work) / "state")]
        command += ["--var", f"JWT_SECRET:load-test-secret-{uuid.uuid4().hex}"]
        env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            yield started(proc)
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def started(proc: subprocess.Popen[str]) -> Runtime:
    """Waits for the runtime's "listening" line, then reads the rest of its log in a thread."""
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    for line in proc.stdout:
        if '"event":"listening"' in line:
            runtime = Runtime(json.loads(line)["url"])
            threading.Thread(target=runtime.read, args=(proc.stdout,), daemon=True).start()
            return runtime
        if time.monotonic() > deadline:
            break
    raise SystemExit(f"the local runtime did not start (exit status {proc.poll()})")


def write(results_path: Path, rows: list[dict[str, Any]]) -> None:
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["local"] = {
        "label": LABEL,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load": "a second process on loopback (httpx, keep-alive), each request its own client address",
        "rows": rows,
    }
    results_path.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per scenario")
    parser.add_argument("--base-url", help="a running system instead of a fresh local runtime")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()
    if args.base_url:
        rows = asyncio.run(measure(Runtime(args.base_url.rstrip("/")), args.requests))
    else:
        with local_runtime() as runtime:
            rows = asyncio.run(measure(runtime, args.requests))
    write(args.results, rows)
    for row in rows:
        print(json.dumps(row), file=sys.stderr)


if __name__ == "__main__":
    main()
