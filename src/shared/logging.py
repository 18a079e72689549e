"""Structured JSON logs: one line per event, each carrying the request id and the trace.

Workers Logs parses JSON lines written to the console, so a `print` of one JSON
object per line is the whole transport. Every line written inside a unit of work (a
request, a queue message, a scheduled run) carries its `trace_id` and `span_id`
(shared.tracing), whichever logger wrote it.
"""

import json
import sys
import time
import traceback
from typing import Any

from shared.tracing import current_span

# One encoder for every line: json.dumps with options builds a new encoder per call.
_encode = json.JSONEncoder(default=str, separators=(",", ":")).encode


class Logger:
    """A logger bound to fields (worker, request id, ...) repeated on every line."""

    def __init__(self, **fields: Any) -> None:
        self._fields = fields

    def bind(self, **fields: Any) -> "Logger":
        return Logger(**{**self._fields, **fields})

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        line = {"time": time.time(), "level": level, "message": message, **self._fields, **fields}
        span = current_span()
        if span is not None:
            line["trace_id"], line["span_id"] = span.trace_id, span.span_id
        print(_encode(line), file=sys.stdout, flush=True)

    def info(self, message: str, **fields: Any) -> None:
        self._emit("info", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._emit("warning", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._emit("error", message, fields)

    def exception(self, message: str, error: BaseException, **fields: Any) -> None:
        """Log an unexpected error with its traceback: in the log, never in a response."""
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self._emit("error", message, {"error": repr(error), "traceback": trace, **fields})
