"""The orders worker written the common FastAPI way (benchmark only): the routes the
benchmark drives, served through the SDK's ASGI adapter (`workers.asgi`)."""

from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi_common import Caller, ServiceWorker, build_fastapi, per_isolate, service_worker
from workers import asgi

from contracts.internal import HEALTH_PATH
from contracts.orders import (
    IDEMPOTENT_REPLAYED_HEADER,
    MAX_IDEMPOTENCY_KEY_CHARS,
    CreateOrderRequest,
    ListOrdersQuery,
    OrderPage,
)
from orders.app import WORKER, build_context
from orders.context import OrdersContext
from shared.logging import Logger

Worker = Annotated[ServiceWorker[OrdersContext], Depends(per_isolate(service_worker(build_context)))]
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=MAX_IDEMPOTENCY_KEY_CHARS)]
LOG = Logger(worker=WORKER)
app = build_fastapi()


@app.get(HEALTH_PATH)
async def health(worker: Worker) -> dict[str, str]:
    await worker.db.first("SELECT 1 AS ok")
    return {"status": "ok", "worker": WORKER}


@app.post("/api/orders", status_code=201)
async def create_order(
    order: CreateOrderRequest, caller: Caller, worker: Worker, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    request_id = request.state.request_id
    outcome = await worker.ctx.orders.create(
        caller, order, idempotency_key=idempotency_key, request_id=request_id, log=LOG.bind(request_id=request_id)
    )
    headers = {IDEMPOTENT_REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, outcome.status, headers)


@app.get("/api/orders", response_model=OrderPage)
async def list_orders(query: Annotated[ListOrdersQuery, Query()], caller: Caller, worker: Worker) -> Any:
    orders, next_cursor = await worker.ctx.orders.list_orders(caller, query)
    return {"items": [order.public() for order in orders], "next_cursor": next_cursor}


Default = asgi.entrypoint(app)
