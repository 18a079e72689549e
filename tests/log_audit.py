"""The error audit of the local runtime's log, as pure functions over its JSON lines.

Why apart from tests/conftest.py: the audit decides whether a green run is honest, so it
must itself be proven to fail (tests/unit/test_log_audit.py), and that needs no runtime.

A *problem* is a line with a numeric ``status`` >= 500 or with ``"level": "error"``, from
any worker or the runtime itself. Each test owns the lines logged while it ran (its
``Span``); a declaration (``expect_5xx``, ``expect_error``) covers lines of its own span
only, and a declared 5xx or error that is not in that span is a problem too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class Span:
    """The log lines ``[start, end)`` logged from a test's set-up to the end of its teardown."""

    test: str
    start: int
    end: int


@dataclass
class Declarations:
    """What one test says it causes: 5xx answers by request id, error lines by message."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def covers(self, record: Record) -> bool:
        """A declared request covers every line about it (the service's traceback and the 5xx)."""
        if record.get("request_id") in self.requests:
            return True
        return is_error(record) and any(part in str(record.get("message", "")) for part in self.errors)


def is_5xx(record: Record) -> bool:
    status = record.get("status")
    return isinstance(status, (int, float)) and not isinstance(status, bool) and status >= 500


def is_error(record: Record) -> bool:
    return record.get("level") == "error"


def undeclared(records: list[Record], span: Span, declared: Declarations) -> list[int]:
    """Positions of the problems in ``span`` that its test did not declare."""
    return [
        at
        for at in range(span.start, min(span.end, len(records)))
        if (is_5xx(records[at]) or is_error(records[at])) and not declared.covers(records[at])
    ]


def missing(records: list[Record], span: Span, declared: Declarations) -> list[str]:
    """The declarations of ``span``'s test that nothing in its span bears out."""
    mine = records[span.start : span.end]
    absent = [
        f"expect_5xx({request_id!r}): no 5xx was logged for that request while the test ran"
        for request_id in declared.requests
        if not any(is_5xx(r) and r.get("request_id") == request_id for r in mine)
    ]
    absent += [
        f"expect_error({part!r}): no error line with that message was logged while the test ran"
        for part in declared.errors
        if not any(is_error(r) and part in str(r.get("message", "")) for r in mine)
    ]
    return absent


def outside(records: list[Record], spans: list[Span]) -> list[int]:
    """Positions of the problems logged while no test ran (before, between or after them)."""
    owned = {at for span in spans for at in range(span.start, span.end)}
    return [at for at, r in enumerate(records) if at not in owned and (is_5xx(r) or is_error(r))]


def describe(records: list[Record], spans: list[Span], at: int) -> str:
    """One problem line: the request it is about, who sent that request, and when it was logged."""
    record = records[at]
    request_id = record.get("request_id")
    sent = _access_line(records, at, request_id) if request_id else None
    if sent is None:
        request = f"request {request_id!r}" if request_id else "no request"
        sender = ""
    else:
        access = records[sent]
        request = f"{access.get('method')} {access.get('path')} -> {access.get('status')} (request {request_id!r})"
        sender = f", sent {_test_at(spans, sent)}"
    what = f"status {record['status']}" if is_5xx(record) else f"error {record.get('message')!r}"
    return f"{request}{sender}: {what}, logged {_test_at(spans, at)}\n    {json.dumps(record)}"


def _access_line(records: list[Record], at: int, request_id: str) -> int | None:
    """Where the runtime's access line for ``request_id`` nearest ``at`` is (clients may reuse ids)."""
    lines = [i for i, r in enumerate(records) if r.get("request_id") == request_id and _is_access(r)]
    return min(lines, key=lambda i: abs(i - at)) if lines else None


def _is_access(record: Record) -> bool:
    """The runtime's line per answer of the gateway: the request as the client sent it."""
    return record.get("source") == "local-runtime" and "method" in record and "status" in record


def _test_at(spans: list[Span], at: int) -> str:
    for span in spans:
        if span.start <= at < span.end:
            return f"while {span.test} ran"
    before = [span.test for span in spans if span.end <= at]
    return f"after {before[-1]} (while no test ran)" if before else "before the first test"
