"""W3C Trace Context, parsed exactly as the spec says (https://www.w3.org/TR/trace-context/):
a table of valid and invalid `traceparent` values."""

import pytest

from shared.tracing import Span, continue_or_start, parse_traceparent, start_trace

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"

VALID = [
    (f"00-{TRACE}-{PARENT}-01", TRACE, PARENT, 0x01),
    (f"00-{TRACE}-{PARENT}-00", TRACE, PARENT, 0x00),  # not sampled by the caller
    (f"00-{TRACE}-{PARENT}-09", TRACE, PARENT, 0x09),  # unknown flags are kept
    (f" 00-{TRACE}-{PARENT}-01\t", TRACE, PARENT, 0x01),  # whitespace around a header value
    (f"01-{TRACE}-{PARENT}-01", TRACE, PARENT, 0x01),  # a later version, read by the 00 layout
    (f"cc-{TRACE}-{PARENT}-01-what-the-future-adds", TRACE, PARENT, 0x01),
    (f"fe-{TRACE}-{PARENT}-01-", TRACE, PARENT, 0x01),
]

INVALID = [
    None,
    "",
    "garbage",
    f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
    f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
    f"00-{TRACE.upper()}-{PARENT}-01",  # upper-case hex
    f"00-{TRACE}-{PARENT.upper()}-01",
    f"00-{TRACE}-{PARENT}-0A",
    f"0A-{TRACE}-{PARENT}-01",  # upper-case version
    f"ff-{TRACE}-{PARENT}-01",  # version ff is forbidden
    f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
    f"00-{TRACE[:-1]}-{PARENT}-01",  # short trace id
    f"00-{TRACE}0-{PARENT}-01",  # long trace id
    f"00-{TRACE}-{PARENT[:-1]}-01",  # short parent id
    f"00-{TRACE}-{PARENT}-1",  # one-digit flags
    f"00-{TRACE}-{PARENT}",  # no flags
    f"00_{TRACE}_{PARENT}_01",  # wrong separator
    f"0-{TRACE}-{PARENT}-01",  # one-digit version
    f"01-{TRACE}-{PARENT}-01x",  # a later version must continue with "-"
    f"01-{TRACE}-{'0' * 16}-01",  # zero ids are invalid in every version
    f"00-{TRACE}-{PARENT}-0g",  # not hex
]


@pytest.mark.parametrize(("header", "trace_id", "parent_id", "flags"), VALID)
def test_valid_traceparents_are_continued(header, trace_id, parent_id, flags):
    parent = parse_traceparent(header)
    assert parent is not None and (parent.trace_id, parent.parent_id, parent.flags) == (trace_id, parent_id, flags)
    span = continue_or_start(header, "vendor=opaque")
    assert span.trace_id == trace_id and span.parent_id == parent_id and span.flags == flags
    assert span.span_id != parent_id and len(span.span_id) == 16
    assert span.tracestate == "vendor=opaque"  # kept as it is beside a valid traceparent
    assert span.traceparent == f"00-{trace_id}-{span.span_id}-{flags:02x}"  # we speak version 00


@pytest.mark.parametrize("header", INVALID)
def test_invalid_traceparents_start_a_new_trace(header):
    assert parse_traceparent(header) is None
    span = continue_or_start(header, "vendor=opaque")
    assert span.parent_id is None and span.tracestate == ""  # tracestate is dropped with it
    assert len(span.trace_id) == 32 and span.trace_id != TRACE and span.trace_id != "0" * 32


def test_trailing_whitespace_is_not_part_of_the_value():
    """RFC 9110 trims optional whitespace around a field value, so this is the valid header."""
    assert parse_traceparent(f"00-{TRACE}-{PARENT}-01 ") is not None


def test_a_new_trace_is_random_and_sampled():
    first, second = start_trace(), start_trace()
    assert first.trace_id != second.trace_id and first.span_id != second.span_id
    assert first.flags == 1 and first.parent_id is None


def test_headers_carry_tracestate_only_when_there_is_one():
    assert Span(TRACE, PARENT).headers() == {"traceparent": f"00-{TRACE}-{PARENT}-01"}
    assert Span(TRACE, PARENT, tracestate="a=b").headers()["tracestate"] == "a=b"


def test_an_oversized_tracestate_is_dropped():
    assert continue_or_start(f"00-{TRACE}-{PARENT}-01", "a=" + "b" * 600).tracestate == ""
