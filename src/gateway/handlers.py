"""The gateway's handlers: a generic one that forwards a contract route, and the few
routes the gateway answers itself (login, refresh, account deletion, maintenance runs, alerts)."""

import asyncio
import json
from typing import Any

from contracts.internal import CLOSE_ACCOUNT_PATH, INTERNAL_ORIGIN, LOGIN_PATH, REFRESH_PATH
from contracts.orders import IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_CHARS
from contracts.users import LoginRequest, RefreshRequest, SessionGrant
from gateway.context import GatewayContext
from gateway.proxy import as_problem, forward, outbound_headers
from gateway.routes import Route
from shared.adapters.services import ServiceError
from shared.errors import HttpProblem
from shared.http import Handler, HttpRequest, HttpResponse, encode_json, json_response
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
        return await forward(ctx.services[service], request, request.identity, stream=True)

    return handle


async def login(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """Credentials are checked (and throttled) by the users service, which opens the session;
    the access token is minted here, where the signing keys live."""
    parse_body(request, LoginRequest)
    return await _session(request, ctx, LOGIN_PATH)


async def refresh(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """The users service spends the refresh token for its successor; a new access token goes with it."""
    parse_body(request, RefreshRequest)
    return await _session(request, ctx, REFRESH_PATH)


async def _session(request: HttpRequest, ctx: GatewayContext, path: str) -> HttpResponse:
    answer = await forward(ctx.services["users"], _internal(request, path), None)
    if answer.status != 200:
        return _as_public(answer, request)
    grant = SessionGrant.model_validate_json(answer.body)
    request.user_id = grant.user_id
    return json_response(
        {
            "access_token": ctx.auth.issue(grant.user_id, grant.role, grant.session_id),
            "token_type": "Bearer",
            "expires_in": ctx.auth.ttl_seconds,
            "refresh_token": grant.refresh_token,
            "refresh_expires_in": grant.refresh_expires_in,
        }
    )


async def delete_user(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """The users service deletes (and revokes every session); then the orders service closes
    the account before the client hears 204, so no order can follow the answer.

    A retried DELETE (404 from users: already deleted) closes again, so a close that failed
    the first time (answered 5xx) is made up by the retry; the erasure's first step closes
    it a third way. Nobody else's account is closed: only self or an admin get this far.
    """
    answer = await forward(ctx.services["users"], request, request.identity)
    user_id, caller = request.path_params["id"], request.identity
    if answer.status not in (204, 404) or caller is None or not caller.may_see(user_id):
        return answer
    path = CLOSE_ACCOUNT_PATH.format(user_id=user_id)  # the segment as routed: still percent-encoded
    try:
        closed = await ctx.services["orders"].request("POST", path, outbound_headers(request, caller))
    except ServiceError as error:
        if answer.status == 204:
            raise as_problem(error) from error
        request.log.warning("could not close a deleted account in orders", reason=error.detail)
        return answer
    if closed.status != 204 and answer.status == 204:
        request.log.warning("orders refused to close a deleted account", status=closed.status)
        raise HttpProblem(502, "The account was deleted, but its orders could not be closed yet; retry the DELETE")
    return answer


def _as_public(answer: HttpResponse, request: HttpRequest) -> HttpResponse:
    """A refusal from the internal login route, told about the public path the client called."""
    if answer.headers.get("content-type", "").startswith("application/problem+json"):
        document = json.loads(answer.body)
        document["instance"] = request.path
        answer.body = encode_json(document).encode()
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


async def alerts(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    """The alert rules' states and incidents, as the last scheduled evaluation left them."""
    return json_response(await ctx.alerts.report())
