"""The public API as data: one `Route` per contract row.

The same table drives routing, authentication, body validation, forwarding and
the OpenAPI document, so they cannot drift apart.
"""

from dataclasses import dataclass, field

from pydantic import BaseModel

from contracts.maintenance import MaintenanceRunPage
from contracts.orders import CreateOrderRequest, DeadLetterPage, ListOrdersQuery, Order, OrderPage, ReplayAccepted
from contracts.users import (
    ListUsersQuery,
    LoginRequest,
    RegisterRequest,
    TokenResponse,
    UpdateUserRequest,
    User,
    UserPage,
)
from gateway.auth import ADMIN_ONLY, PUBLIC, SIGNED_IN


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    access: str = PUBLIC
    service: str | None = None  # forwarded verbatim to this service; None: the gateway answers
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = field(default_factory=tuple)
    tag: str = "system"
    idempotent: bool = False  # takes an Idempotency-Key header


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "Health of the gateway and both services, and the runtime it runs on", errors=(503,)),
    Route("GET", "/openapi.json", "This OpenAPI 3.1 document"),
    Route(
        "POST",
        "/api/auth/register",
        "Create an account",
        service="users",
        body=RegisterRequest,
        response=User,
        status=201,
        errors=(409,),
        tag="auth",
    ),
    Route(
        "POST",
        "/api/auth/login",
        "Exchange credentials for a bearer token",
        body=LoginRequest,
        response=TokenResponse,
        errors=(401,),
        tag="auth",
    ),
    Route(
        "GET",
        "/api/users/me",
        "The caller's account (404 once it is deleted, while the caller's token is still valid)",
        SIGNED_IN,
        "users",
        response=User,
        errors=(404,),
        tag="users",
    ),
    Route(
        "GET",
        "/api/users",
        "All accounts, paginated",
        ADMIN_ONLY,
        "users",
        query=ListUsersQuery,
        response=UserPage,
        tag="users",
    ),
    Route(
        "GET",
        "/api/users/{id}",
        "One account (self or admin); X-Cache tells HIT or MISS",
        SIGNED_IN,
        "users",
        response=User,
        errors=(404,),
        tag="users",
    ),
    Route(
        "PATCH",
        "/api/users/{id}",
        "Rename an account (self or admin)",
        SIGNED_IN,
        "users",
        body=UpdateUserRequest,
        response=User,
        errors=(404,),
        tag="users",
    ),
    Route(
        "DELETE",
        "/api/users/{id}",
        "Soft-delete an account (self or admin)",
        SIGNED_IN,
        "users",
        status=204,
        errors=(404,),
        tag="users",
    ),
    Route(
        "POST",
        "/api/orders",
        "Place an order; Idempotency-Key makes retries safe",
        SIGNED_IN,
        "orders",
        body=CreateOrderRequest,
        response=Order,
        status=201,
        errors=(409, 422),
        tag="orders",
        idempotent=True,
    ),
    Route(
        "GET",
        "/api/orders",
        "The caller's orders (admin: all), newest first",
        SIGNED_IN,
        "orders",
        query=ListOrdersQuery,
        response=OrderPage,
        errors=(403,),
        tag="orders",
    ),
    Route(
        "GET",
        "/api/orders/{id}",
        "One order (owner or admin)",
        SIGNED_IN,
        "orders",
        response=Order,
        errors=(404,),
        tag="orders",
    ),
    Route(
        "POST",
        "/api/orders/{id}/cancel",
        "Cancel a pending or confirmed order",
        SIGNED_IN,
        "orders",
        response=Order,
        errors=(404, 409),
        tag="orders",
    ),
    Route(
        "GET",
        "/api/admin/dead-letters",
        "Messages that exhausted their retries",
        ADMIN_ONLY,
        "orders",
        response=DeadLetterPage,
        tag="admin",
    ),
    Route(
        "POST",
        "/api/admin/dead-letters/{id}/replay",
        "Put a dead letter back on its queue",
        ADMIN_ONLY,
        "orders",
        response=ReplayAccepted,
        status=202,
        errors=(404, 409),
        tag="admin",
    ),
    Route(
        "GET",
        "/api/admin/maintenance-runs",
        "Scheduled maintenance run summaries, newest first",
        ADMIN_ONLY,
        response=MaintenanceRunPage,
        tag="admin",
    ),
)
