"""The steps every gateway request passes before its handler, outermost first.

Each is a small callable `step(request, call_next)`, built from what it needs and
testable alone: CORS (preflight, and headers on every answer), no-store on private
routes, the per-client rate limit, the body size limit, and authentication.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth import PUBLIC, Authenticator
from gateway.cors import CorsPolicy
from gateway.ratelimit import RateLimiter, client_key
from shared.app import CallNext, allowed_methods
from shared.errors import HttpProblem
from shared.http import HttpRequest, HttpResponse, Router


@dataclass(frozen=True)
class Cors:
    policy: CorsPolicy
    router: Router[Any]

    async def __call__(self, request: HttpRequest, call_next: CallNext) -> HttpResponse:
        if request.method == "OPTIONS" and request.header("access-control-request-method"):
            allowed = allowed_methods(self.router, request.path)  # routing again only for a preflight
            if allowed:
                return self.policy.preflight(request, list(allowed))
        response = await call_next(request)
        self.policy.decorate(request, response)
        return response


@dataclass(frozen=True)
class NoStore:
    """Answers about accounts and orders must not sit in a browser's or proxy's cache."""

    private_routes: frozenset[str]

    async def __call__(self, request: HttpRequest, call_next: CallNext) -> HttpResponse:
        response = await call_next(request)
        if request.route in self.private_routes:
            response.headers["Cache-Control"] = "no-store"
        return response


@dataclass(frozen=True)
class RateLimit:
    limiter: RateLimiter

    async def __call__(self, request: HttpRequest, call_next: CallNext) -> HttpResponse:
        if not await self.limiter.allow(client_key(request.headers)):
            raise HttpProblem(429, "Too many requests; slow down", headers={"Retry-After": "60"})
        return await call_next(request)


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int

    async def __call__(self, request: HttpRequest, call_next: CallNext) -> HttpResponse:
        declared = request.header("content-length")
        if len(request.body) > self.max_bytes or (declared.isdigit() and int(declared) > self.max_bytes):
            raise HttpProblem(413, f"The body is over {self.max_bytes} bytes")
        return await call_next(request)


@dataclass(frozen=True)
class Authenticate:
    """401/403 before any handler runs; the verified caller goes on as `request.identity`."""

    auth: Authenticator
    access_by_route: Mapping[tuple[str, str], str]  # (method, template) -> PUBLIC, SIGNED_IN or ADMIN_ONLY

    async def __call__(self, request: HttpRequest, call_next: CallNext) -> HttpResponse:
        access = self.access_by_route.get((request.method, request.route or ""), PUBLIC)
        request.identity = self.auth.authorize(request, access)
        return await call_next(request)
