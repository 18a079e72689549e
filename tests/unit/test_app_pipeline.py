"""The shared request pipeline: routing answers, error mapping, stamping and logging."""

import asyncio
import json

from shared.app import WorkerApp
from shared.errors import Conflict, NotFound
from shared.http import SECURITY_HEADERS, HttpRequest, HttpResponse, Router, json_response, request_id_from

RELAYED = object()  # a body the runtime holds (a JS stream in Pyodide)


def make_app() -> WorkerApp:
    router = Router()

    async def ok(request, ctx):
        return json_response({"id": request.path_params["id"], "ctx": ctx})

    async def conflict(request, ctx):
        raise Conflict("already there")

    async def missing(request, ctx):
        raise NotFound("no such thing")

    async def crash(request, ctx):
        raise RuntimeError("SELECT secret FROM users")

    async def relayed(request, ctx):
        return HttpResponse(200, headers={"Content-Type": "text/plain"}, stream=RELAYED)

    router.add("GET", "/things/{id}", ok)
    router.add("POST", "/things/{id}", conflict)
    router.add("GET", "/missing", missing)
    router.add("GET", "/crash", crash)
    router.add("GET", "/relayed", relayed)
    return WorkerApp("test", router, "the-context")


def call(method: str, path: str):
    request = HttpRequest(method, f"https://x.invalid{path}", {}, b"", "req-1")
    return asyncio.run(make_app().handle(request))


def test_route_params_and_stamps():
    response = call("GET", "/things/42")
    assert response.status == 200 and response.json() == {"id": "42", "ctx": "the-context"}
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


def test_headers_compare_without_case():
    request = HttpRequest("GET", "https://x.invalid/", {"Content-Type": "a/b"})
    assert request.header("content-type") == "a/b" and "CONTENT-TYPE" in request.headers
    response = json_response({})
    response.headers["content-type"] = "text/plain"
    assert list(response.headers.items()) == [("Content-Type", "text/plain")]


def test_unknown_method_is_501_and_head_is_get_without_body():
    assert call("PROPFIND", "/things/1").status == 501
    head = call("HEAD", "/things/7")
    assert head.status == 200 and head.body == b"" and head.headers["Content-Type"].startswith("application/json")


def test_a_relayed_body_goes_out_on_get_and_is_dropped_on_head():
    assert call("GET", "/relayed").stream is RELAYED
    head = call("HEAD", "/relayed")
    assert head.status == 200 and head.stream is None and head.body == b""


def test_middleware_runs_outermost_first_and_sees_errors_as_answers():
    seen = []

    def step(name):
        async def run(request, call_next):
            seen.append(name)
            response = await call_next(request)
            response.headers[f"X-{name}"] = str(response.status)
            return response

        return run

    async def refuse(request, call_next):
        raise Conflict("refused before the handler")

    app = make_app()
    app = WorkerApp("test", app.router, "ctx", (step("outer"), step("inner"), refuse))
    response = asyncio.run(app.handle(HttpRequest("GET", "https://x.invalid/things/1", {}, b"", "req-2")))
    assert seen == ["outer", "inner"]
    assert response.status == 409 and response.headers["x-outer"] == response.headers["x-inner"] == "409"
    assert response.headers["X-Request-ID"] == "req-2"


def test_misconfiguration_is_a_stamped_500_logged_once(capsys):
    from shared.app import misconfigured
    from shared.config import ConfigError

    request = HttpRequest("GET", "https://x.invalid/health", {}, b"", "req-3")
    response = misconfigured("test", request, ConfigError("JWT_SECRET must be set"))
    assert response.status == 500 and "JWT_SECRET" not in response.body.decode()
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Request-ID"] == "req-3"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(logged) == 1 and logged[0]["level"] == "error" and "JWT_SECRET" in logged[0]["error"]


def test_gateway_without_a_jwt_secret_is_a_configuration_error():
    from types import SimpleNamespace

    import pytest

    from gateway.app import build_app
    from shared.config import ConfigError

    with pytest.raises(ConfigError, match="JWT_SECRET"):
        build_app(SimpleNamespace(JWT_SECRET="too-short"))
