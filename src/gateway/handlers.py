"""The gateway's handlers: a generic one that forwards a contract route, and the few
routes the gateway answers itself (login, maintenance runs)."""

import asyncio
import json
from typing import Any

from contracts.internal import INTERNAL_ORIGIN, LOGIN_PATH
from contracts.orders import IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_CHARS
from contracts.users import LoginRequest, User
from gateway.context import GatewayContext
from gateway.proxy import as_problem, forward, outbound_headers
from gateway.routes import Route
from shared.adapters.services import ServiceError
from shared.errors import HttpProblem
from shared.http import Handler, HttpRequest, HttpResponse, json_response
from shared.validation import parse_body, parse_header, parse_query


def validate(route: Route, request: HttpRequest) -> None:
    """Reject bad input at the door (400/415/422) with the models the services use."""
    if route.body is not None:
        parse_body(request, route.body)
    if route.query is not None:
        parse_query(request, route.query)
    if route.idempotent:
        parse_header(request, IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_CHARS)


def forwarding(route: Route) -> Handler[GatewayContext]:
    """The handler of a route a service answers: the caller was authenticated by middleware."""
    service = route.service
    if service is None:
        raise ValueError(f"{route.method} {route.path} names no service to forward to")

    async def handle(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
        validate(route, request)
        return await forward(ctx.services[service], request, request.identity)

    return handle


async def login(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """Credentials are checked by the users service; the token is minted here, where the secret lives."""
    parse_body(request, LoginRequest)
    answer = await forward(ctx.services["users"], _internal(request, LOGIN_PATH), None)
    if answer.status != 200:
        return _as_public(answer, request)
    user = User.model_validate_json(answer.body)
    request.user_id = user.id
    token = ctx.auth.issue(user.id, user.role)
    return json_response({"access_token": token, "token_type": "Bearer", "expires_in": ctx.auth.ttl_seconds})


def _as_public(answer: HttpResponse, request: HttpRequest) -> HttpResponse:
    """A refusal from the internal login route, told about the public path the client called."""
    if answer.headers.get("content-type", "").startswith("application/problem+json"):
        document = json.loads(answer.body)
        document["instance"] = request.path
        answer.body = json.dumps(document, separators=(",", ":")).encode()
    return answer


def _internal(request: HttpRequest, path: str) -> HttpRequest:
    return HttpRequest(request.method, f"{INTERNAL_ORIGIN}{path}", request.headers, request.body, request.request_id)


async def maintenance_runs(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """Both services run scheduled jobs; their summaries are merged newest first."""
    headers = outbound_headers(request, request.identity)
    names = tuple(ctx.services)
    try:
        answers = await asyncio.gather(*(ctx.services[n].request("GET", request.path, headers) for n in names))
    except ServiceError as error:
        raise as_problem(error) from error
    items: list[dict[str, Any]] = []
    for name, answer in zip(names, answers, strict=True):
        if answer.status != 200:
            request.log.warning("maintenance runs unavailable", service=name, status=answer.status)
            raise HttpProblem(502, f"{name} could not list its maintenance runs")
        items.extend(json.loads(answer.body)["items"])
    items.sort(key=lambda run: run["started_at"], reverse=True)
    return json_response({"items": items})
