"""The gateway, built from its env: the route table wired to handlers, plus the
checks every request passes (CORS preflight, rate limit, body size)."""

from typing import Any

from gateway import handlers
from gateway.auth import PUBLIC, Authenticator
from gateway.cors import CorsPolicy
from gateway.health import health
from gateway.jwt import TokenPolicy
from gateway.openapi import openapi
from gateway.ratelimit import RateLimiter, WorkersRateLimiter, client_key
from gateway.routes import ROUTES
from shared.adapters.services import ServiceClient
from shared.app import WorkerApp
from shared.config import env_int, env_list, env_str
from shared.errors import HttpProblem
from shared.http import HttpRequest, HttpResponse, Router

_OWN_HANDLERS = {
    "/health": health,
    "/openapi.json": openapi,
    "/api/auth/login": handlers.login,
    "/api/admin/maintenance-runs": handlers.maintenance_runs,
}


def build_router() -> Router:
    router = Router()
    for route in ROUTES:
        router.add(route.method, route.path, _OWN_HANDLERS.get(route.path) or handlers.forwarding(route))
    return router


_ROUTER = build_router()
_NO_STORE_PATHS = {route.path for route in ROUTES if route.access != PUBLIC} | {"/api/auth/login", "/api/auth/register"}


class Gate:
    """What every request passes before its handler, and what every response gets after."""

    def __init__(self, cors: CorsPolicy, limiter: RateLimiter, max_body_bytes: int) -> None:
        self.cors = cors
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes

    async def guard(self, request: HttpRequest, allowed: list[str]) -> HttpResponse | None:
        if request.method == "OPTIONS" and allowed and request.header("access-control-request-method"):
            return self.cors.preflight(request, allowed)
        if not await self.limiter.allow(client_key(request.headers)):
            raise HttpProblem(429, "Too many requests; slow down", headers={"Retry-After": "60"})
        declared = request.header("content-length")
        if len(request.body) > self.max_body_bytes or (declared.isdigit() and int(declared) > self.max_body_bytes):
            raise HttpProblem(413, f"The body is over {self.max_body_bytes} bytes")
        return None

    def finish(self, request: HttpRequest, response: HttpResponse) -> None:
        self.cors.decorate(request, response)
        if _template_of(request) in _NO_STORE_PATHS:
            response.headers["Cache-Control"] = "no-store"


def _template_of(request: HttpRequest) -> str | None:
    handler, _, template = _ROUTER.match(request.method, request.path)
    return template if handler is not None else None


def build_app(env: Any) -> WorkerApp:
    secret = env_str(env, "JWT_SECRET")
    if len(secret) < 32:
        raise RuntimeError("JWT_SECRET must be set (at least 32 characters): see .dev.vars.example")
    auth = Authenticator(
        TokenPolicy(secret.encode(), env_str(env, "JWT_ISSUER", "edge-api"), env_str(env, "JWT_AUDIENCE", "edge-api-clients")),
        env_int(env, "JWT_TTL_SECONDS", 3600),
    )
    timeout = env_int(env, "SERVICE_TIMEOUT_MS", 10_000) / 1000
    services = {name: ServiceClient(name, getattr(env, name.upper()), timeout) for name in ("users", "orders")}
    gate = Gate(
        CorsPolicy(frozenset(env_list(env, "ALLOWED_ORIGINS"))),
        WorkersRateLimiter(env.RATE_LIMITER),
        env_int(env, "MAX_BODY_BYTES", 65_536),
    )
    return WorkerApp("gateway", _ROUTER, {"auth": auth, "services": services}, guard=gate.guard, finish=gate.finish)
