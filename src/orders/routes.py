"""The orders worker's HTTP handlers: parse and check input, call a service, format.

Paths are the public ones: the gateway forwards them verbatim with the caller's
identity (x-user-id, x-user-role), x-request-id and any Idempotency-Key.
"""

from contracts.erasures import OrdersCancelled, OrdersErased
from contracts.internal import (
    CANCEL_ACCOUNT_ORDERS_PATH,
    CLOSE_ACCOUNT_PATH,
    DEAD_LETTERS_WAITING_PATH,
    ERASE_ACCOUNT_ORDERS_PATH,
    HEALTH_PATH,
)
from contracts.orders import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    MAX_IDEMPOTENCY_KEY_CHARS,
    CreateOrderRequest,
    ListDeadLettersQuery,
    ListOrdersQuery,
)
from orders.context import OrdersContext
from shared.http import Handler, HttpRequest, HttpResponse, Router, empty_response, json_response
from shared.identity import caller_of
from shared.routes import maintenance_runs
from shared.validation import parse_body, parse_header, parse_query


async def create_order(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    caller = caller_of(request)
    key = parse_header(request, IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_CHARS)
    body = parse_body(request, CreateOrderRequest)
    outcome = await ctx.orders.create(caller, body, idempotency_key=key, request_id=request.request_id, log=request.log)
    headers = {IDEMPOTENT_REPLAYED_HEADER: "true"} if outcome.replayed else None
    return json_response(outcome.body, outcome.status, headers)


async def list_orders(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    caller = caller_of(request)
    orders, next_cursor = await ctx.orders.list_orders(caller, parse_query(request, ListOrdersQuery))
    return json_response({"items": [order.public() for order in orders], "next_cursor": next_cursor})


async def get_order(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    order = await ctx.orders.get(caller_of(request), request.path_params["order_id"])
    return json_response(order.public())


async def cancel_order(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    order = await ctx.orders.cancel(caller_of(request), request.path_params["order_id"])
    return json_response(order.public())


async def close_account(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    """Internal: the gateway closes a deleted account here before it answers the DELETE."""
    caller_of(request)  # only the gateway reaches this, and it always says who asked
    await ctx.orders.close_account(request.path_params["user_id"])
    return empty_response(204)


async def cancel_account_orders(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    """Internal: the users worker's erasure closes the account and cancels its open orders."""
    caller_of(request)  # the erasure calls as the deleted account
    cancelled = await ctx.orders.cancel_account_orders(request.path_params["user_id"])
    return json_response(OrdersCancelled(cancelled=cancelled).model_dump())


async def erase_account_orders(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    """Internal: the users worker's erasure strips the account from its orders."""
    caller_of(request)
    orders = await ctx.orders.erase_account_orders(request.path_params["user_id"])
    return json_response(OrdersErased(orders=orders).model_dump())


async def list_dead_letters(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    letters, next_cursor = await ctx.dead_letters.waiting(
        caller_of(request), parse_query(request, ListDeadLettersQuery)
    )
    return json_response({"items": [letter.public() for letter in letters], "next_cursor": next_cursor})


async def dead_letters_waiting(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    """Internal: the gateway's dead-letter alert rule counts what waits."""
    return json_response({"waiting": await ctx.dead_letters.count_waiting()})


async def replay_dead_letter(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    letter_id = request.path_params["letter_id"]
    await ctx.dead_letters.replay(caller_of(request), letter_id, request.log)
    return json_response({"id": letter_id, "status": "replayed"}, 202)


def build_router(health: Handler[object]) -> Router[OrdersContext]:
    router: Router[OrdersContext] = Router()
    router.add("GET", HEALTH_PATH, health)
    router.add("POST", CLOSE_ACCOUNT_PATH, close_account)
    router.add("GET", DEAD_LETTERS_WAITING_PATH, dead_letters_waiting)
    router.add("POST", CANCEL_ACCOUNT_ORDERS_PATH, cancel_account_orders)
    router.add("POST", ERASE_ACCOUNT_ORDERS_PATH, erase_account_orders)
    router.add("POST", "/api/orders", create_order)
    router.add("GET", "/api/orders", list_orders)
    router.add("GET", "/api/orders/{order_id}", get_order)
    router.add("POST", "/api/orders/{order_id}/cancel", cancel_order)
    router.add("GET", "/api/admin/dead-letters", list_dead_letters)
    router.add("POST", "/api/admin/dead-letters/{letter_id}/replay", replay_dead_letter)
    router.add("GET", "/api/admin/maintenance-runs", maintenance_runs)
    return router
