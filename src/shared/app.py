"""The request pipeline every worker runs: route, run, map errors, stamp, log.

Pure Python over `shared.http` types, so it is tested in CPython; the entry modules
only convert the runtime's request into an `HttpRequest` and back.
"""

import time
from dataclasses import replace
from collections.abc import Awaitable, Callable
from typing import Any

from shared.http import REQUEST_ID_HEADER, SECURITY_HEADERS, STANDARD_METHODS, HttpRequest, HttpResponse, Router, problem, problem_for
from shared.logging import Logger

Guard = Callable[[HttpRequest, list[str]], Awaitable[HttpResponse | None]]
Finisher = Callable[[HttpRequest, HttpResponse], None]


class WorkerApp:
    """A worker's routes plus what its handlers need (`context` is passed as keyword arguments).

    `guard` runs before routing (it sees the methods the path allows) and may answer
    on its own, as the gateway's CORS preflight and rate limit do; `finish` adjusts
    every response, errors included.
    """

    def __init__(
        self,
        worker: str,
        router: Router,
        context: dict[str, Any] | None = None,
        *,
        guard: Guard | None = None,
        finish: Finisher | None = None,
    ) -> None:
        self.worker = worker
        self.router = router
        self.context = context or {}
        self.guard = guard
        self.finish = finish
        self.log = Logger(worker=worker)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        log = self.log.bind(request_id=request.request_id)
        # HEAD is GET without the body, wherever GET works (RFC 9110 section 9.3.2).
        routed = replace(request, method="GET") if request.method == "HEAD" else request
        handler, params, route = self.router.match(routed.method, routed.path)
        try:
            response = await self._run(routed, handler, params, log)
        except Exception as error:  # noqa: BLE001 - every failure becomes an answer
            response = problem_for(error, routed) or self._crash(routed, error, log)
        if self.finish is not None:
            self.finish(routed, response)
        stamp(response, request)
        if request.method == "HEAD":
            response.body = b""
        log.info(
            "request",
            method=request.method,
            path=request.path,
            route=route or "-",
            status=response.status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=request.user_id,
        )
        return response

    async def _run(self, request: HttpRequest, handler: Any, params: Any, log: Logger) -> HttpResponse:
        if request.method not in STANDARD_METHODS:
            return problem(501, f"{request.method} is not a method this server implements", request)
        allowed = params if handler is None else [request.method]
        if self.guard is not None:
            early = await self.guard(request, allowed)
            if early is not None:
                return early
        if handler is None:
            return self._unrouted(request, params)
        return await handler(request, **params, **self.context, log=log)

    @staticmethod
    def _unrouted(request: HttpRequest, allowed: list[str]) -> HttpResponse:
        if allowed:
            allow = ", ".join(sorted(set(allowed) | ({"HEAD"} if "GET" in allowed else set())))
            return problem(405, f"{request.method} is not allowed on this path", request, headers={"Allow": allow})
        return problem(404, "No such route", request)

    @staticmethod
    def _crash(request: HttpRequest, error: Exception, log: Logger) -> HttpResponse:
        log.exception("unhandled error", error, path=request.path)
        return problem(500, "The server failed to answer this request", request)


def stamp(response: HttpResponse, request: HttpRequest) -> None:
    """Security headers and the request id on every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers[REQUEST_ID_HEADER] = request.request_id
