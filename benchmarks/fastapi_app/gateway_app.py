"""The gateway written the common FastAPI way (benchmark only): JWT auth and the rate
limit as dependencies, bodies and queries validated by FastAPI from the contracts'
models, answers forwarded over the same service bindings behind the same breakers.

Unlike ours it has no CORS and no body-size limit (the benchmark sends neither an
Origin nor a large body), so it does a little less work per request than ours.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_common import build_fastapi, per_isolate, problem_response
from workers import asgi

from contracts.internal import LOGIN_PATH
from contracts.orders import MAX_IDEMPOTENCY_KEY_CHARS, CreateOrderRequest, ListOrdersQuery
from contracts.users import LoginRequest, SessionGrant, TokenResponse
from gateway import jwt
from gateway.app import build_app
from gateway.breaker import GuardedService
from gateway.context import GatewayContext
from gateway.health import health_report
from gateway.proxy import FORWARDED_REQUEST_HEADERS, RETURNED_RESPONSE_HEADERS, as_problem
from gateway.ratelimit import WorkersRateLimiter, client_key
from shared.adapters.services import ServiceError
from shared.clock import epoch_seconds
from shared.identity import ADMIN, USER, Identity

UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class GatewayWorker:
    context: GatewayContext  # ours: the token policy and the services behind their breakers
    limiter: WorkersRateLimiter

    @classmethod
    def from_env(cls, env: Any) -> "GatewayWorker":
        return cls(build_app(env).context, WorkersRateLimiter(env.RATE_LIMITER))


Worker = Annotated[GatewayWorker, Depends(per_isolate(GatewayWorker.from_env))]


async def rate_limited(request: Request, worker: Worker) -> None:
    if not await worker.limiter.allow(client_key(request.headers)):
        raise HTTPException(429, "Too many requests; slow down", headers={"Retry-After": "60"})


async def signed_in(
    worker: Worker, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
) -> Identity:
    if credentials is None:
        raise HTTPException(401, "A bearer token is required", headers=UNAUTHENTICATED)
    try:
        claims = jwt.decode(credentials.credentials, worker.context.auth.policy, epoch_seconds())
    except jwt.InvalidToken:
        raise HTTPException(401, "The token is invalid or expired", headers=UNAUTHENTICATED) from None
    if claims.get("role") not in (USER, ADMIN):
        raise HTTPException(401, "The token is invalid or expired", headers=UNAUTHENTICATED)
    session_id = claims.get("sid")
    return Identity(claims["sub"], claims["role"], session_id if isinstance(session_id, str) else "")


SignedIn = Annotated[Identity, Depends(signed_in)]
app = build_fastapi(dependencies=[Depends(rate_limited)])


@app.exception_handler(ServiceError)
async def service_failed(request: Request, error: ServiceError) -> Response:
    return await problem_response(request, as_problem(error))


def outbound(request: Request, identity: Identity | None) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    headers["x-request-id"] = request.state.request_id
    if identity is not None:
        headers.update(identity.as_headers())
    return headers


async def forward(service: GuardedService, request: Request, identity: Identity, body: bytes = b"") -> Response:
    query = request.url.query
    path = request.url.path + (f"?{query}" if query else "")
    answer = await service.request(request.method, path, outbound(request, identity), body)
    headers = {name: answer.headers[name] for name in RETURNED_RESPONSE_HEADERS if name in answer.headers}
    headers["Cache-Control"] = "no-store"
    return Response(answer.body, answer.status, headers=headers)


@app.get("/health")
async def health(request: Request, worker: Worker) -> JSONResponse:
    body, healthy = await health_report(worker.context.services, request.state.request_id)
    return JSONResponse(body, 200 if healthy else 503)


@app.post("/api/auth/login", response_model=TokenResponse)
async def login(credentials: LoginRequest, request: Request, worker: Worker) -> Any:
    body = credentials.model_dump_json().encode()
    answer = await worker.context.services["users"].request("POST", LOGIN_PATH, outbound(request, None), body)
    if answer.status != 200:
        return Response(answer.body, answer.status, headers={"content-type": answer.headers["content-type"]})
    grant = SessionGrant.model_validate_json(answer.body)
    auth = worker.context.auth
    return TokenResponse(
        access_token=auth.issue(grant.user_id, grant.role, grant.session_id),
        expires_in=auth.ttl_seconds,
        refresh_token=grant.refresh_token,
        refresh_expires_in=grant.refresh_expires_in,
    )


@app.get("/api/users/{user_id}")
async def get_user(user_id: str, request: Request, caller: SignedIn, worker: Worker) -> Response:
    return await forward(worker.context.services["users"], request, caller)


@app.post("/api/orders")
async def create_order(
    order: CreateOrderRequest,
    request: Request,
    caller: SignedIn,
    worker: Worker,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=MAX_IDEMPOTENCY_KEY_CHARS)] = None,
) -> Response:
    """`idempotency_key` is only checked here (FastAPI's Header validation); it is forwarded with the headers."""
    return await forward(worker.context.services["orders"], request, caller, order.model_dump_json().encode())


@app.get("/api/orders")
async def list_orders(
    query: Annotated[ListOrdersQuery, Query()], request: Request, caller: SignedIn, worker: Worker
) -> Response:
    return await forward(worker.context.services["orders"], request, caller)


Default = asgi.entrypoint(app)
