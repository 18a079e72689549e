"""The error audit of the runtime's log fails on what it should (tests/log_audit.py).

Why: a green run is only worth something if the audit behind it can go red; these feed it
log lines as the local runtime writes them and check what it reports and whom it blames.
"""

from tests.log_audit import Declarations, Span, describe, missing, outside, undeclared

FIRST = "tests/e2e/test_x.py::test_first"
SECOND = "tests/e2e/test_x.py::test_second"


def access(request_id: str, status: int, path: str = "/api/orders") -> dict:
    return {"source": "local-runtime", "request_id": request_id, "method": "GET", "path": path, "status": status}


def error(message: str, **fields: object) -> dict:
    return {"level": "error", "worker": "orders", "message": message, **fields}


LOG = [
    access("r-ok", 200),  # 0: first test
    error("unhandled error", request_id="r-bad"),  # 1
    access("r-bad", 502),  # 2
    {"level": "info", "message": "order confirmed", "request_id": "r-bad"},  # 3
    access("r-404", 404, "/nope"),  # 4: second test
    error("event failed; will retry", request_id="r-bad"),  # 5: the first test's request, failing later
    error("maintenance task failed"),  # 6
    error("interpreter died; starting a new one"),  # 7: no test runs
]
SPANS = [Span(FIRST, 0, 4), Span(SECOND, 4, 7)]


def test_an_undeclared_error_and_5xx_are_reported():
    assert undeclared(LOG, SPANS[0], Declarations()) == [1, 2]


def test_info_lines_and_4xx_answers_are_not_problems():
    assert undeclared(LOG, Span(FIRST, 0, 1), Declarations()) == []
    assert undeclared(LOG, Span(SECOND, 3, 5), Declarations()) == []


def test_a_declared_request_covers_its_5xx_and_its_error_lines_in_its_own_test():
    declared = Declarations(requests=["r-bad"])
    assert undeclared(LOG, SPANS[0], declared) == []
    assert missing(LOG, SPANS[0], declared) == []


def test_a_declaration_does_not_cover_the_same_request_in_another_test():
    assert undeclared(LOG, SPANS[1], Declarations()) == [5, 6]
    assert undeclared(LOG, SPANS[1], Declarations(errors=["maintenance task failed"])) == [5]


def test_a_declared_5xx_that_did_not_happen_is_reported():
    assert missing(LOG, SPANS[1], Declarations(requests=["r-404"])) == [
        "expect_5xx('r-404'): no 5xx was logged for that request while the test ran"
    ]
    assert missing(LOG, SPANS[1], Declarations(requests=["r-bad"])) != []  # its 502 was logged in the first test


def test_a_declared_error_that_was_not_logged_is_reported():
    assert missing(LOG, SPANS[0], Declarations(errors=["maintenance task failed"])) == [
        "expect_error('maintenance task failed'): no error line with that message was logged while the test ran"
    ]
    assert missing(LOG, SPANS[1], Declarations(errors=["maintenance task"])) == []


def test_a_problem_names_its_request_the_test_that_sent_it_and_the_test_it_was_logged_in():
    later = describe(LOG, SPANS, 5)
    assert later.startswith(f"GET /api/orders -> 502 (request 'r-bad'), sent while {FIRST} ran: ")
    assert f"error 'event failed; will retry', logged while {SECOND} ran" in later
    assert describe(LOG, SPANS, 2).startswith(f"GET /api/orders -> 502 (request 'r-bad'), sent while {FIRST} ran: ")
    assert "status 502" in describe(LOG, SPANS, 2)


def test_a_problem_logged_while_no_test_ran_fails_the_session_and_says_after_which():
    assert outside(LOG, SPANS) == [7]
    assert f"no request: error 'interpreter died; starting a new one', logged after {SECOND}" in describe(LOG, SPANS, 7)
    assert "before the first test" in describe(LOG, [Span(FIRST, 2, 4)], 1)
