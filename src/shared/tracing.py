"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header, parsed
exactly as the spec says, and the span each unit of work runs in.

Workers Traces joins the platform's own spans (handlers, bindings, service-binding calls)
but does not continue a client's `traceparent`, cross Queues or reach a webhook receiver,
so the workers carry the trace themselves: `shared.telemetry` continues or starts one per
request, message and scheduled run, and the adapters hand it on.
"""

import random
import re
from contextvars import ContextVar, Token
from typing import NamedTuple

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# The names the trace travels under inside a queue message body (there are no message headers).
TRACE_FIELDS = (TRACEPARENT, TRACESTATE)

SAMPLED = 0x01
_VERSION_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# A later version: the same four fields first, then nothing or "-" and more (spec section 3.2.4).
_LATER_VERSION = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?", re.DOTALL)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
MAX_TRACESTATE_CHARS = 512  # the spec lets vendors drop a longer one rather than truncate it


class Span:
    """One unit of work's place in a trace: its own span id, the caller's span (if any).

    A slotted class whose `traceparent` is formatted once: one is made per unit of work and
    read by every hop, log line and `Server-Timing` header of it, in Pyodide. Treat it as
    immutable."""

    __slots__ = ("flags", "parent_id", "span_id", "trace_id", "traceparent", "tracestate")

    def __init__(
        self, trace_id: str, span_id: str, parent_id: str | None = None, flags: int = SAMPLED, tracestate: str = ""
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.flags = flags
        self.tracestate = tracestate
        # This span as the `traceparent` a callee continues (always version 00, which we speak).
        self.traceparent = f"00-{trace_id}-{span_id}-{flags:02x}"

    def headers(self) -> dict[str, str]:
        """The headers that hand this trace to an HTTP callee."""
        if self.tracestate:
            return {TRACEPARENT: self.traceparent, TRACESTATE: self.tracestate}
        return {TRACEPARENT: self.traceparent}


class TraceParent(NamedTuple):
    """A valid incoming `traceparent`: the caller's trace, span and flags."""

    trace_id: str
    parent_id: str
    flags: int


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The caller's trace, or None when the header is absent or invalid (then a new trace starts).

    Version 00 must be exactly `00-<32 hex>-<16 hex>-<2 hex>` in lower case. A later
    version (not `ff`) is read by the version-00 layout and may carry more after a `-`.
    All-zero trace or parent ids are invalid in every version.
    """
    if not value:
        return None
    value = value.strip(" \t")  # optional whitespace around a header value is not part of it
    found = _VERSION_00.fullmatch(value)
    if found is not None:
        trace_id, parent_id, flags = found.groups()
    else:
        later = _LATER_VERSION.fullmatch(value)
        if later is None or later.group(1) in ("00", "ff"):
            return None
        trace_id, parent_id, flags = later.group(2, 3, 4)
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, parent_id, int(flags, 16))


# Ids need to be random, not secret (the spec asks for uniqueness, and they are sent to
# clients and receivers anyway): the Mersenne Twister is several times cheaper in Pyodide
# than the OS's entropy source behind `secrets`.
def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


def continue_or_start(traceparent: str | None, tracestate: str | None = None) -> Span:
    """A new span in the caller's trace when `traceparent` is valid, else the root of a new trace.

    `tracestate` is kept as it is, only beside a valid `traceparent` (spec section 3.3).
    """
    parent = parse_traceparent(traceparent)
    if parent is None:
        return start_trace()
    state = (tracestate or "").strip()
    return Span(
        parent.trace_id,
        new_span_id(),
        parent.parent_id,
        parent.flags,
        state if len(state) <= MAX_TRACESTATE_CHARS else "",
    )


def start_trace() -> Span:
    """The root span of a new trace (a scheduled run, or a request without a usable traceparent)."""
    return Span(new_trace_id(), new_span_id())


_current: ContextVar[Span | None] = ContextVar("current_span", default=None)


def current_span() -> Span | None:
    """The span of the unit of work this code runs in (each asyncio task has its own)."""
    return _current.get()


def enter(span: Span) -> Token[Span | None]:
    """Make `span` current; the token goes back to `leave`."""
    return _current.set(span)


def leave(token: Token[Span | None]) -> None:
    _current.reset(token)
