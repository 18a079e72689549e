"""The shared request pipeline: routing answers, error mapping, stamping and logging."""

import asyncio
import json

from shared.app import WorkerApp
from shared.errors import Conflict, NotFound
from shared.http import SECURITY_HEADERS, HttpRequest, Router, json_response, request_id_from


def make_app() -> WorkerApp:
    router = Router()

    async def ok(request, *, id, **_):
        return json_response({"id": id})

    async def conflict(request, **_):
        raise Conflict("already there")

    async def missing(request, **_):
        raise NotFound("no such thing")

    async def crash(request, **_):
        raise RuntimeError("SELECT secret FROM users")

    router.add("GET", "/things/{id}", ok)
    router.add("POST", "/things/{id}", conflict)
    router.add("GET", "/missing", missing)
    router.add("GET", "/crash", crash)
    return WorkerApp("test", router)


def call(method: str, path: str):
    request = HttpRequest(method, f"https://x.invalid{path}", {}, b"", "req-1")
    return asyncio.run(make_app().handle(request))


def test_route_params_and_stamps():
    response = call("GET", "/things/42")
    assert response.status == 200 and response.json() == {"id": "42"}
    assert response.headers["X-Request-ID"] == "req-1"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_unknown_route_is_problem_404():
    response = call("GET", "/nope")
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["instance"] == "/nope" and response.json()["request_id"] == "req-1"


def test_wrong_method_is_405_with_allow():
    response = call("DELETE", "/things/1")
    assert response.status == 405 and response.headers["Allow"] == "GET, HEAD, POST"


def test_domain_errors_map_to_statuses():
    assert call("POST", "/things/1").status == 409
    assert call("GET", "/missing").status == 404


def test_crash_is_500_without_internals(capsys):
    response = call("GET", "/crash")
    assert response.status == 500
    assert "SELECT" not in response.body.decode()
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any("traceback" in line and "SELECT secret" in line["traceback"] for line in logged)
    assert all(line["request_id"] == "req-1" for line in logged)


def test_request_id_kept_only_when_sane():
    assert request_id_from({"x-request-id": "abc-123_x.y"}) == "abc-123_x.y"
    fresh = request_id_from({"x-request-id": "bad id with spaces"})
    assert fresh != "bad id with spaces" and len(fresh) == 32
    assert len(request_id_from({"x-request-id": "a" * 129})) == 32
