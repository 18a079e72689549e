"""The users worker's HTTP handlers: parse and validate, call the service, format.

Paths mirror the public ones (the gateway forwards them verbatim with the caller's
identity headers), plus /internal/* paths only the gateway uses.
"""

from contracts.internal import HEALTH_PATH, LOGIN_PATH, REFRESH_PATH
from contracts.users import (
    ChangePasswordRequest,
    ListUsersQuery,
    LoginRequest,
    LogoutRequest,
    LogoutSession,
    RefreshRequest,
    RegisterRequest,
    UpdateUserRequest,
)
from shared.http import Handler, HttpRequest, HttpResponse, Router, empty_response, json_response
from shared.identity import caller_of
from shared.routes import maintenance_runs
from shared.validation import parse_body, parse_query
from users.context import UsersContext
from users.service import RefreshTokenReused


async def register(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    body = parse_body(request, RegisterRequest)
    user = await ctx.users.register(body.email, body.password, body.name)
    request.user_id = user.id
    return json_response(user.public(), 201, {"Location": f"/api/users/{user.id}"})


async def login(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    """Checks credentials and opens a session: the gateway, which holds the signing keys, mints the access token."""
    body = parse_body(request, LoginRequest)
    grant = await ctx.users.login(body.email, body.password)
    request.user_id = grant.user_id
    return json_response(grant.public())


async def refresh(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    body = parse_body(request, RefreshRequest)
    try:
        grant = await ctx.users.refresh(body.refresh_token)
    except RefreshTokenReused:
        request.log.warning("spent refresh token presented again; its session is revoked")
        raise
    request.user_id = grant.user_id
    return json_response(grant.public())


async def logout(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    body = parse_body(request, LogoutRequest).root
    await ctx.users.logout(caller_of(request), body.refresh_token if isinstance(body, LogoutSession) else None)
    return empty_response(204)


async def change_password(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    body = parse_body(request, ChangePasswordRequest)
    await ctx.users.change_password(caller_of(request), body.current_password, body.new_password)
    return empty_response(204)


async def me(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    user = await ctx.users.me(caller_of(request))
    return json_response(user.public())


async def list_users(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    identity = caller_of(request)
    query = parse_query(request, ListUsersQuery)
    page, next_cursor = await ctx.users.list_users(identity, query.limit, query.cursor)
    return json_response({"items": [user.public() for user in page], "next_cursor": next_cursor})


async def get_user(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    found = await ctx.users.get_user(caller_of(request), request.path_params["user_id"])
    return json_response(found.user, headers={"X-Cache": "HIT" if found.cache_hit else "MISS"})


async def update_user(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    identity = caller_of(request)
    body = parse_body(request, UpdateUserRequest)
    user = await ctx.users.rename(identity, request.path_params["user_id"], body.name)
    return json_response(user.public())


async def delete_user(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    await ctx.users.delete(caller_of(request), request.path_params["user_id"], request.request_id)
    return empty_response(204)


async def get_erasure(request: HttpRequest, ctx: UsersContext) -> HttpResponse:
    view = await ctx.erasures.status(caller_of(request), request.path_params["user_id"])
    return json_response(view.public())


def build_router(health: Handler[object]) -> Router[UsersContext]:
    """`/api/users/me` comes before `/api/users/{user_id}`: the router takes the first match."""
    router: Router[UsersContext] = Router()
    router.add("GET", HEALTH_PATH, health)
    router.add("POST", "/api/auth/register", register)
    router.add("POST", LOGIN_PATH, login)
    router.add("POST", REFRESH_PATH, refresh)
    router.add("POST", "/api/auth/logout", logout)
    router.add("GET", "/api/users/me", me)
    router.add("POST", "/api/users/me/password", change_password)
    router.add("GET", "/api/users", list_users)
    router.add("GET", "/api/users/{user_id}", get_user)
    router.add("PATCH", "/api/users/{user_id}", update_user)
    router.add("DELETE", "/api/users/{user_id}", delete_user)
    router.add("GET", "/api/admin/maintenance-runs", maintenance_runs)
    router.add("GET", "/api/admin/erasures/{user_id}", get_erasure)
    return router
