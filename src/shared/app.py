"""The request pipeline every worker runs: route, run the middleware and the handler, stamp;
all of it inside the request's telemetry scope (trace, units, data point, access log line).

Pure Python over `shared.http` types, so it is tested in CPython; the entry modules
only convert the runtime's request into an `HttpRequest` and back.

Middleware are small async steps, `step(request, call_next) -> response`, as in
Starlette. Each step sees an answer from `call_next`, never an exception: errors
become problem responses where they happen, so an outer step (CORS, say) still
decorates them.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Generic

from shared.config import ConfigError
from shared.http import (
    REQUEST_ID_HEADER,
    SECURITY_HEADERS,
    STANDARD_METHODS,
    Context,
    HttpRequest,
    HttpResponse,
    Router,
    problem,
    problem_for,
)
from shared.logging import Logger
from shared.telemetry import Telemetry

CallNext = Callable[[HttpRequest], Awaitable[HttpResponse]]
Middleware = Callable[[HttpRequest, CallNext], Awaitable[HttpResponse]]


class WorkerApp(Generic[Context]):
    """A worker's routes, the typed context its handlers get, and its middleware (outermost first)."""

    def __init__(
        self,
        worker: str,
        router: Router[Context],
        context: Context,
        middleware: Sequence[Middleware] = (),
        telemetry: Telemetry | None = None,
    ) -> None:
        self.worker = worker
        self.router = router
        self.context = context
        self.log = Logger(worker=worker)
        self.telemetry = telemetry or Telemetry(worker, None)
        self._pipeline = _guarded(_handler_step, self._endpoint)
        for step in reversed(middleware):
            self._pipeline = _guarded(step, self._pipeline)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        request.log = self.log.bind(request_id=request.request_id)
        return await self.telemetry.request(request, self._answer)

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        # HEAD is GET without the body, wherever GET works (RFC 9110 section 9.3.2).
        routed = replace(request, method="GET") if request.method == "HEAD" else request
        match = self.router.match(routed.method, routed.path)
        routed.route, routed.path_params = match.template, match.params  # middleware may need both
        response = await self._pipeline(routed)
        request.route, request.user_id = routed.route, routed.user_id  # for the access log line
        stamp(response, request)
        if request.method == "HEAD":
            response.body, response.stream = b"", None
        return response

    async def _endpoint(self, request: HttpRequest) -> HttpResponse:
        if request.method not in STANDARD_METHODS:
            return problem(501, f"{request.method} is not a method this server implements", request)
        handler = self.router.handler(request.method, request.route)  # `_answer` routed it already
        if handler is None:
            return _unrouted(request, self.router.match(request.method, request.path).allowed)
        return await handler(request, self.context)


def _handler_step(request: HttpRequest, call_next: CallNext) -> Awaitable[HttpResponse]:
    """The handler's own place in the pipeline: no middleware, only the guard."""
    return call_next(request)


def _guarded(step: Middleware, call_next: CallNext) -> CallNext:
    """`step` bound to the rest of the pipeline, every failure in it turned into an answer
    where it happens (one coroutine frame per step)."""

    async def guarded(request: HttpRequest) -> HttpResponse:
        try:
            return await step(request, call_next)
        except Exception as error:  # noqa: BLE001 - every failure becomes an answer
            return problem_for(error, request) or crash(request, error)

    return guarded


def with_head(methods: Sequence[str]) -> tuple[str, ...]:
    """The methods a path answers: HEAD wherever GET is."""
    return tuple(sorted(set(methods) | ({"HEAD"} if "GET" in methods else set())))


def allowed_methods(router: Router[Context], path: str) -> tuple[str, ...]:
    return with_head(router.match("", path).allowed)


def _unrouted(request: HttpRequest, allowed: tuple[str, ...]) -> HttpResponse:
    if allowed:
        allow = ", ".join(with_head(allowed))
        return problem(405, f"{request.method} is not allowed on this path", request, headers={"Allow": allow})
    return problem(404, "No such route", request)


def crash(request: HttpRequest, error: Exception) -> HttpResponse:
    """A bug: its traceback goes to the log, the client gets a 500 that says nothing more."""
    request.log.exception("unhandled error", error, path=request.path)
    return problem(500, "The server failed to answer this request", request)


def misconfigured(worker: str, request: HttpRequest, error: ConfigError) -> HttpResponse:
    """A missing or bad setting: one error line for the operator, a stamped 500 for the client."""
    Logger(worker=worker, request_id=request.request_id).error("configuration error", error=str(error))
    response = problem(500, "The service is misconfigured", request)
    stamp(response, request)
    return response


def stamp(response: HttpResponse, request: HttpRequest) -> None:
    """Security headers and the request id on every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers[REQUEST_ID_HEADER] = request.request_id
