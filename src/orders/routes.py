"""The orders worker's HTTP handlers: parse and check input, call a service, format.

Paths are the public ones: the gateway forwards them verbatim with the caller's
identity (x-user-id, x-user-role), x-request-id and any Idempotency-Key.
"""

from contracts.orders import CreateOrderRequest, ListOrdersQuery
from orders.context import OrdersContext
from shared.errors import HttpProblem
from shared.http import HttpRequest, HttpResponse, json_response
from shared.identity import caller_of
from shared.validation import parse_body, parse_query

IDEMPOTENCY_KEY_HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_IDEMPOTENCY_KEY_CHARS = 255


def idempotency_key_of(request: HttpRequest) -> str | None:
    """None when the header is absent; 422 when present but empty or over 255 characters."""
    if IDEMPOTENCY_KEY_HEADER not in request.headers:
        return None
    key = request.headers[IDEMPOTENCY_KEY_HEADER]
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise HttpProblem(
            422,
            "The Idempotency-Key header must be 1-255 characters",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "must be 1-255 characters"}],
        )
    return key


async def create_order(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    caller = caller_of(request)
    key = idempotency_key_of(request)
    body = parse_body(request, CreateOrderRequest)
    outcome = await ctx.orders.create(caller, body, idempotency_key=key, request_id=request.request_id, log=request.log)
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return json_response(outcome.body, outcome.status, headers)


async def list_orders(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    caller = caller_of(request)
    page = await ctx.orders.list_page(caller, parse_query(request, ListOrdersQuery))
    return json_response(page.model_dump(mode="json"))


async def get_order(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    order = await ctx.orders.get(caller_of(request), request.path_params["order_id"])
    return json_response(order.model_dump(mode="json"))


async def cancel_order(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    order = await ctx.orders.cancel(caller_of(request), request.path_params["order_id"])
    return json_response(order.model_dump(mode="json"))


async def list_dead_letters(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    page = await ctx.dead_letters.waiting(caller_of(request))
    return json_response(page.model_dump(mode="json"))


async def replay_dead_letter(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    accepted = await ctx.dead_letters.replay(caller_of(request), request.path_params["letter_id"], request.log)
    return json_response(accepted.model_dump(mode="json"), 202)


async def list_maintenance_runs(request: HttpRequest, ctx: OrdersContext) -> HttpResponse:
    page = await ctx.maintenance.recent(caller_of(request))
    return json_response(page.model_dump(mode="json"))
