"""Telemetry for every unit of work, in one place: its span, its billable units, its data point.

Each request, queue message, scheduled run and workflow step attempt runs inside a scope
(`Telemetry.request`, `.message`, `.run`, `.step`) that makes its `Span` (shared.tracing) and a fresh `Usage` current
for the asyncio task. The adapters (shared.adapters) count what they spend into the
current `Usage` (`count`, `awaited`) and hand the current span on (service bindings,
queue messages, webhooks), so no handler or service knows about any of it. When the
scope ends it writes one Analytics Engine data point (shared.metrics) and, for a
request, the access log line and the `Server-Timing` header.

Python CPU is counted as the workers' meters count it: wall time minus the time spent
awaiting bindings. On Cloudflare the isolate's clock only moves at I/O (a Spectre
mitigation), so there `cpu_ms` reads close to 0 and the platform's own CPU time (Workers
Logs, Workers Metrics) is the figure to trust; locally and in the benchmark it is measured.
"""

from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from time import perf_counter
from typing import Any, Protocol, TypeVar

from shared import tracing
from shared.http import HttpRequest, HttpResponse
from shared.metrics import MESSAGE, REQUEST, RUN, STEP, DataPoint, outcome_of_status
from shared.tracing import Span

SERVER_TIMING = "Server-Timing"
T = TypeVar("T")


class Usage:
    """One unit of work in one worker: its span, and what it spent so far (the adapters add
    to it as they go). A plain slotted class: one is made per request, in Pyodide."""

    __slots__ = ("counts", "inflight", "span", "started", "timings", "waited_ms", "waiting_since")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.started = perf_counter()
        self.counts: dict[str, int] = {}  # only the units it spent: the access line carries no zeros
        self.waited_ms = 0.0
        self.timings: list[str] = []  # Server-Timing entries of the workers it called
        self.inflight = 0  # binding calls in flight (`awaited`)
        self.waiting_since = 0.0

    @property
    def wall_ms(self) -> float:
        return (perf_counter() - self.started) * 1000

    def point(self, wall: float | None = None, **fields: Any) -> DataPoint:
        """The data point of this unit of work, its wall time `wall` (default: until now)."""
        wall = self.wall_ms if wall is None else wall
        cpu = wall - self.waited_ms
        return DataPoint(
            wall_ms=round(wall, 2),
            cpu_ms=round(cpu, 2) if cpu > 0 else 0.0,
            trace_id=self.span.trace_id,
            units=self.counts,
            **fields,
        )


_usage: ContextVar[Usage | None] = ContextVar("current_usage", default=None)


def count(unit: str, n: int = 1) -> None:
    """Add `n` of a billable unit (shared.metrics.UNITS) to the current unit of work, if any.

    Units it never spends stay out of its counts (the data point writes them as 0): the
    access log line is shorter by them, and each character of it costs in Pyodide."""
    usage = _usage.get()
    if usage is not None and n:
        counts = usage.counts
        counts[unit] = counts.get(unit, 0) + n


async def awaited(call: Awaitable[T]) -> T:
    """Await a binding call, its time counted as waiting, not as the worker's CPU.

    Calls in flight together (an asyncio.gather) count once: the union of their spans.
    Written out inline (no helper calls): it wraps every binding call, in Pyodide."""
    usage = _usage.get()
    if usage is None:
        return await call
    if usage.inflight == 0:
        usage.waiting_since = perf_counter()
    usage.inflight += 1
    try:
        return await call
    finally:
        usage.inflight -= 1
        if usage.inflight == 0:
            usage.waited_ms += (perf_counter() - usage.waiting_since) * 1000


def note_timing(server_timing: str) -> None:
    """Keep a callee's `Server-Timing` worker entries (`users;dur=1.2`) for this request's answer."""
    usage = _usage.get()
    if usage is None or not server_timing:
        return
    for entry in server_timing.split(","):
        entry = entry.strip()
        if entry and not entry.startswith(tracing.TRACEPARENT):
            usage.timings.append(entry)


def trace_headers() -> dict[str, str]:
    """The headers that hand the current trace to an HTTP callee (none outside a unit of work)."""
    span = tracing.current_span()
    return span.headers() if span is not None else {}


def with_trace(body: dict[str, Any]) -> dict[str, Any]:
    """A queue message body carrying the current trace, unless it already carries one (a
    replayed dead letter keeps the trace it was first sent in)."""
    span = tracing.current_span()
    if span is None or tracing.TRACEPARENT in body:
        return body
    return {**body, **span.headers()}


def without_trace(body: dict[str, Any]) -> dict[str, Any]:
    """A message body as the event it is, without the trace it travelled with."""
    if not any(name in body for name in tracing.TRACE_FIELDS):
        return body
    return {key: value for key, value in body.items() if key not in tracing.TRACE_FIELDS}


class DataPointSink(Protocol):
    def write(self, point: DataPoint) -> None: ...


Tokens = tuple[Token[Span | None], Token[Usage | None]]


def _enter(span: Span) -> tuple[Usage, Tokens]:
    """Make `span` and a fresh `Usage` current for this asyncio task."""
    usage = Usage(span)
    return usage, (tracing.enter(span), _usage.set(usage))


def _leave(tokens: Tokens) -> None:
    _usage.reset(tokens[1])
    tracing.leave(tokens[0])


def server_timing(span: Span, worker: str, wall_ms: float, callees: list[str]) -> str:
    """`traceparent;desc="..."`, then one `<worker>;dur=<ms>` per worker that handled the request."""
    own = f'{tracing.TRACEPARENT};desc="{span.traceparent}", {worker};dur={wall_ms:.1f}'
    return ", ".join((own, *callees)) if callees else own


class Telemetry:
    """One worker's telemetry: the scopes its entry points run their units of work in.

    `enabled=False` (the var `TELEMETRY=off`) runs each unit of work bare: no trace, no
    units, no data point, no Server-Timing, only the plain access line. It is what the
    benchmark measures telemetry's overhead against."""

    def __init__(self, worker: str, sink: DataPointSink | None, enabled: bool = True) -> None:
        self.worker = worker
        self._sink = sink
        self.enabled = enabled

    def _write(self, point: DataPoint) -> None:
        if self._sink is not None:
            self._sink.write(point)

    async def request(
        self, request: HttpRequest, handle: Callable[[HttpRequest], Awaitable[HttpResponse]]
    ) -> HttpResponse:
        """Continue the caller's trace (or start one), answer, then stamp, count and log the request."""
        if not self.enabled:
            return await self._bare(request, handle)
        headers = request.headers
        span = tracing.continue_or_start(headers.get(tracing.TRACEPARENT), headers.get(tracing.TRACESTATE))
        usage, tokens = _enter(span)
        try:
            response = await handle(request)
            wall = usage.wall_ms
            response.headers[SERVER_TIMING] = server_timing(span, self.worker, wall, usage.timings)
            point = usage.point(
                wall,
                worker=self.worker,
                kind=REQUEST,
                route=request.route or "-",
                method=request.method,
                outcome=outcome_of_status(response.status),
                request_id=request.request_id,
                status=response.status,
            )
            self._write(point)
            request.log.info(
                "request",
                method=request.method,
                path=request.path,
                route=point.route,
                status=response.status,
                duration_ms=point.wall_ms,
                cpu_ms=point.cpu_ms,
                units=point.units,
                user_id=request.user_id,
            )
        finally:
            _leave(tokens)
        return response

    @staticmethod
    async def _bare(request: HttpRequest, handle: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> HttpResponse:
        started = perf_counter()
        response = await handle(request)
        duration = round((perf_counter() - started) * 1000, 2)
        route = request.route or "-"
        request.log.info(
            "request",
            method=request.method,
            path=request.path,
            route=route,
            status=response.status,
            duration_ms=duration,
            user_id=request.user_id,
        )
        return response

    async def message(
        self,
        queue: str,
        body: dict[str, Any],
        handle: Callable[[], Awaitable[T]],
        outcome: Callable[[T], str],
    ) -> T:
        """Handle one queue message in the trace it was sent in (a new one if it carries none)."""
        if not self.enabled:
            return await handle()
        span = tracing.continue_or_start(body.get(tracing.TRACEPARENT), body.get(tracing.TRACESTATE))
        event_type = body.get("type")
        method = event_type if isinstance(event_type, str) else "-"
        return await self._unit(span, handle, MESSAGE, queue, method, str(body.get("request_id") or "-"), outcome)

    async def run(self, cron: str, handle: Callable[[], Awaitable[T]]) -> T:
        """A scheduled run: a trace of its own; its point is written whether it succeeds or raises."""
        if not self.enabled:
            return await handle()
        return await self._unit(tracing.start_trace(), handle, RUN, cron, "scheduled", "-")

    async def step(
        self, workflow: str, name: str, trace: dict[str, str], request_id: str, handle: Callable[[], Awaitable[T]]
    ) -> T:
        """One attempt of a workflow step, in the trace that started the workflow (`trace`: the
        `traceparent`/`tracestate` it was created with). An attempt is the unit of work: each
        one runs code and spends units; a step the engine answers from its cache runs neither."""
        if not self.enabled:
            return await handle()
        span = tracing.continue_or_start(trace.get(tracing.TRACEPARENT), trace.get(tracing.TRACESTATE))
        return await self._unit(span, handle, STEP, workflow, name, request_id)

    async def _unit(
        self,
        span: Span,
        handle: Callable[[], Awaitable[T]],
        kind: str,
        route: str,
        method: str,
        request_id: str,
        outcome: Callable[[T], str] = lambda _: "ok",
    ) -> T:
        """A unit of work other than a request: its point is written whether it succeeds (with
        the `outcome` of its result) or raises (`failed`)."""
        usage, tokens = _enter(span)
        verdict = "failed"
        try:
            result = await handle()
            verdict = outcome(result)
        finally:
            point = usage.point(
                worker=self.worker,
                kind=kind,
                route=route,
                method=method,
                outcome=verdict,
                request_id=request_id,
                status=0,
            )
            self._write(point)
            _leave(tokens)
        return result
