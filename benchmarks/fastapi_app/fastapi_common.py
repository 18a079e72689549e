"""What the three FastAPI workers of the benchmark share, written as FastAPI users write it.

The project's non-HTTP layers (services, repositories, adapters, contracts) are reused;
everything HTTP here is FastAPI's: dependencies, an `@app.middleware("http")` for the
security headers and exception handlers that answer the contract's problem documents.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Request, Response

from shared.adapters.d1 import D1
from shared.errors import DomainError, HttpProblem, Unauthenticated
from shared.http import REQUEST_ID_HEADER, SECURITY_HEADERS, HttpRequest, problem_for, request_id_from
from shared.identity import Identity, identity_from_headers

Built = TypeVar("Built")
Ctx = TypeVar("Ctx")


@dataclass(frozen=True)
class ServiceWorker(Generic[Ctx]):
    """A service's database and context, from its own composition root."""

    db: D1
    ctx: Ctx


def service_worker(build_context: Callable[[Any, D1], Ctx]) -> Callable[[Any], ServiceWorker[Ctx]]:
    def build(env: Any) -> ServiceWorker[Ctx]:
        db = D1(env.DB)
        return ServiceWorker(db, build_context(env, db))

    return build


def per_isolate(build: Callable[[Any], Built]) -> Callable[[Request], Awaitable[Built]]:
    """A dependency giving what `build(env)` makes, built on the first request and kept.

    The env only arrives with a request (`scope["env"]`, set by `workers.asgi`), and ours
    assembles its app once per isolate too (`shared.platform.app_for`): both sides then
    pay per request for HTTP handling, not for wiring. Every dependency here is async:
    FastAPI runs a plain `def` one in a thread, and Pyodide has none ("can't start new thread").
    """
    built: list[Built] = []

    async def dependency(request: Request) -> Built:
        if not built:
            built.append(build(request.scope["env"]))
        return built[0]

    return dependency


async def service_caller(request: Request) -> Identity:
    """The identity the gateway vouched for in the identity headers (401 without one)."""
    identity = identity_from_headers(request.headers)
    if identity is None:
        raise Unauthenticated("Authentication required")
    return identity


Caller = Annotated[Identity, Depends(service_caller)]


async def problem_response(request: Request, error: Exception) -> Response:
    """A refusal as the contract's problem document (our format, so both sides answer the same bytes)."""
    answer = problem_for(error, _as_http_request(request))
    if answer is None:
        raise error
    return Response(answer.body, answer.status, headers=dict(answer.headers))


def _as_http_request(request: Request) -> HttpRequest:
    return HttpRequest(request.method, str(request.url), dict(request.headers), b"", request.state.request_id)


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    request.state.request_id = request_id_from(request.headers)
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    response.headers[REQUEST_ID_HEADER] = request.state.request_id
    return response


def build_fastapi(**options: Any) -> FastAPI:
    """A FastAPI app with the security-header middleware and the problem handlers."""
    app = FastAPI(**options)
    app.middleware("http")(_security_headers)
    app.add_exception_handler(DomainError, problem_response)
    app.add_exception_handler(HttpProblem, problem_response)
    return app
