"""Structured JSON logs: one line per event, each carrying the request id.

Workers Logs parses JSON lines written to the console, so a `print` of one JSON
object per line is the whole transport.
"""

import json
import sys
import time
import traceback
from typing import Any


class Logger:
    """A logger bound to fields (worker, request id, ...) repeated on every line."""

    def __init__(self, **fields: Any) -> None:
        self._fields = fields

    def bind(self, **fields: Any) -> "Logger":
        return Logger(**{**self._fields, **fields})

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        line = {"time": time.time(), "level": level, "message": message, **self._fields, **fields}
        print(json.dumps(line, default=str, separators=(",", ":")), file=sys.stdout, flush=True)

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
