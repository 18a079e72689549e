"""The rules every answer follows, checked on every route of the table, anonymous and signed in.

Security headers, the X-Request-ID rules (a sane id echoed; too long, empty or odd ones
replaced), `no-store` on private routes, and errors as problem+json that name their
request and show no stack or SQL. Bodies are empty objects and ids unknown, so nothing
changes.
"""

from __future__ import annotations

import re

import pytest

from gateway.app import PRIVATE_ROUTES
from gateway.pages import PAGE_CSPS
from gateway.routes import HTML, ROUTES
from shared.http import SECURITY_HEADERS

UNKNOWN_ID = "ord_" + "0" * 24
REQUEST_IDS = [("a" * 128, True), ("a" * 129, False), ("", False), ("bad id!", False), ("ok.id-1_x", True)]
FRESH_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "user"])
@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_every_answer_follows_the_rules(api, user, route, signed_in):
    path = re.sub(r"\{\w+\}", UNKNOWN_ID, route.path)
    for offered, kept in REQUEST_IDS:
        headers = {**(user.headers if signed_in else {}), "X-Request-ID": offered}
        body = {} if route.body is not None else None
        response = api.request(route.method, path, json=body, headers=headers)
        assert response.status_code < 500, (route.path, response.status_code, response.text)
        expected = (
            {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSPS[route.path]}
            if route.media_type == HTML
            else SECURITY_HEADERS
        )
        for name, value in expected.items():
            assert response.headers[name] == value, (route.path, name)
        request_id = response.headers["x-request-id"]
        assert request_id == offered if kept else FRESH_ID.fullmatch(request_id), (offered, request_id)
        if route.path in PRIVATE_ROUTES:
            assert response.headers["cache-control"] == "no-store", route.path
        if response.status_code >= 400:
            assert_problem(response, path, request_id)


def assert_problem(response, path: str, request_id: str) -> None:
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code and problem["title"] and problem["detail"]
    assert problem["type"] == "about:blank" and problem["instance"] == path and problem["request_id"] == request_id
    text = response.text
    assert "Traceback" not in text and "SELECT" not in text and 'File "' not in text
