"""Any method a client can send: answered as RFC 9110 says, and the system stays up.

The gateway answers a method no route implements with 405 and `Allow`, a method it does
not implement at all with 501, and HEAD wherever GET works. Methods the HTTP server
itself does not know (a made-up token, lower case) are answered by workerd before any
worker runs; what matters there is that nothing breaks.
"""

import contextlib

import httpx
import pytest

PROBLEM = "application/problem+json"
ROUTED_PATH = "/api/auth/login"  # POST only


def assert_alive(api: httpx.Client) -> None:
    health = api.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"


@pytest.mark.parametrize("method", ["TRACE", "DELETE", "PUT", "PATCH", "GET"])
def test_standard_method_no_route_implements_is_405_with_allow(api, method):
    response = api.request(method, ROUTED_PATH)
    assert response.status_code == 405, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "POST"
    assert response.json()["detail"] == f"{method} is not allowed on this path"
    assert response.headers["x-request-id"] and response.headers["x-content-type-options"] == "nosniff"


def not_implemented(api, expect_5xx, method: str, path: str = ROUTED_PATH) -> httpx.Response:
    """A request answered 501 on purpose: declared, so the 5xx audit does not count it."""
    response = api.request(method, path)
    if response.status_code == 501 and "x-request-id" in response.headers:
        expect_5xx(response)
    return response


@pytest.mark.parametrize("method", ["PROPFIND", "PURGE", "MKCOL", "SEARCH"])
def test_method_the_server_does_not_implement_is_501(api, expect_5xx, method):
    response = not_implemented(api, expect_5xx, method)
    assert response.status_code == 501, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Not Implemented"
    assert method in response.json()["detail"]


def test_unknown_method_on_unknown_path_is_501_not_404(api, expect_5xx):
    assert not_implemented(api, expect_5xx, "PROPFIND", "/no/such/path").status_code == 501


def test_odd_methods_leave_the_system_up(api, expect_5xx):
    """TRACE once killed the local runtime; PROPFIND and PURGE were bare 500s.

    TRACK, a made-up token and lower case are unknown to workerd's HTTP server, which
    answers them 501 itself; the others reach the gateway.
    """
    for method in ("TRACE", "TRACK", "PROPFIND", "PURGE", "MADE-UP", "get", "Trace"):
        response = not_implemented(api, expect_5xx, method)
        assert response.status_code in (405, 501), f"{method}: {response.status_code} {response.text}"
    assert_alive(api)


def test_connect_leaves_the_system_up(api):
    """CONNECT is workerd's own business (tunnels): no worker runs, and nothing breaks."""
    with contextlib.suppress(httpx.HTTPError):  # workerd may close the connection; the system must stay up
        api.request("CONNECT", ROUTED_PATH)
    assert_alive(api)


def test_head_wherever_get_works(api, user):
    for path in ("/health", "/openapi.json", "/api/users/me", f"/api/users/{user.id}"):
        got = api.get(path, headers=user.headers)
        head = api.head(path, headers=user.headers)
        assert head.status_code == got.status_code == 200, (path, head.status_code)
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["x-frame-options"] == "DENY" and head.headers["x-request-id"]


def test_head_is_authenticated_like_get(api):
    response = api.head("/api/users/me")
    assert response.status_code == 401 and response.content == b""


def test_allow_lists_head_beside_get(api):
    response = api.delete("/health")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
