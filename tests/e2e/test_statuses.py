"""The statuses API.md gives every route by its kind, checked on every route of the table.

Why over the table (gateway/routes.py) and not route by route: a route added later gets
its 401, 403, 405 and bad-body answers checked without anyone remembering to. Ids are
the caller's own or unknown, and bodies are refused, so nothing changes.
"""

from __future__ import annotations

import pytest

from gateway.auth import ADMIN_ONLY, PUBLIC
from gateway.routes import ROUTES, Route

from .test_gateway import assert_problem

UNKNOWN_ID = "ord_" + "0" * 24
JSON = "application/json"
OVER_LIMIT = 64 * 1024 + 1  # MAX_BODY_BYTES' default
BAD_BODIES = [
    pytest.param(b"{not json", JSON, 400, id="malformed-400"),
    pytest.param(b"{}", JSON, 422, id="invalid-422"),
    pytest.param(b"name=x", "application/x-www-form-urlencoded", 415, id="not-json-415"),
    pytest.param(b'{"name": "' + b"n" * OVER_LIMIT + b'"}', JSON, 413, id="over-limit-413"),
]


def routes(where) -> list:
    return [pytest.param(route, id=f"{route.method} {route.path}") for route in ROUTES if where(route)]


def url(route: Route, own_id: str = UNKNOWN_ID) -> str:
    return route.path.replace("{id}", own_id)


@pytest.mark.parametrize("route", routes(lambda r: r.access != PUBLIC))
def test_every_private_route_without_a_token_is_401_with_a_challenge(api, route):
    response = api.request(route.method, url(route), json={} if route.body else None)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("route", routes(lambda r: r.access == ADMIN_ONLY))
def test_every_admin_route_as_a_user_is_403(api, user, route):
    assert_problem(api.request(route.method, url(route), headers=user.headers), 403)


@pytest.mark.parametrize(("content", "content_type", "status"), BAD_BODIES)
@pytest.mark.parametrize("route", routes(lambda r: r.body is not None))
def test_every_body_route_refuses_a_bad_body(api, user, route, content, content_type, status):
    """On the caller's own id, so a 404 cannot stand in for the body's refusal."""
    headers = {**user.headers, "Content-Type": content_type}
    assert_problem(api.request(route.method, url(route, user.id), content=content, headers=headers), status)


@pytest.mark.parametrize("path", sorted({route.path for route in ROUTES}))
def test_every_path_answers_a_method_it_lacks_405_with_allow(api, path):
    methods = {route.method for route in ROUTES if route.path == path}
    allowed = methods | ({"HEAD"} if "GET" in methods else set())
    response = api.put(path.replace("{id}", UNKNOWN_ID), json={})
    assert_problem(response, 405)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == allowed
