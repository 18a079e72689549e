"""The orders API's shapes, shared by the orders worker and the gateway.

One set of pydantic models validates requests in both workers and generates the
OpenAPI schemas, so the documented contract and the enforced one cannot drift.
Body models are strict (no "5" for 5, no true for 1) and forbid unknown fields:
a typo in a client's payload should fail loudly, not be silently dropped.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from contracts.currencies import ACTIVE_CURRENCIES
from contracts.pages import Cursor

OrderStatus = Literal["pending", "confirmed", "cancelled", "expired"]


def _integral(value: Any) -> Any:
    """JSON Schema counts 439.0 as an integer, so the contract does too; 439.5, "439" and true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Sku = Annotated[str, Field(strict=True, pattern=r"^[A-Z0-9-]{1,32}$")]
# Field first: after a BeforeValidator pydantic would document ge/le instead of minimum/maximum.
Quantity = Annotated[int, Field(strict=True, ge=1, le=1000), BeforeValidator(_integral)]
UnitPriceCents = Annotated[int, Field(strict=True, ge=0, le=100_000_000), BeforeValidator(_integral)]

# Idempotency-Key on POST /api/orders: checked at the gateway and again by the service.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_CHARS = 255
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"

MAX_ITEMS = 50


class OrderItem(BaseModel):
    """One order line; money in integer cents."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Quantity
    unit_price_cents: UnitPriceCents


class CreateOrderRequest(BaseModel):
    """`POST /api/orders` body. The total is never accepted from the client."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"items": [{"sku": "TEA-EARL-GREY", "quantity": 2, "unit_price_cents": 450}], "currency": "EUR"}
            ]
        },
    )

    items: Annotated[list[OrderItem], Field(min_length=1, max_length=MAX_ITEMS)]
    currency: Annotated[str, Field(strict=True, min_length=3, max_length=3, examples=["EUR", "USD"])]

    @field_validator("currency")
    @classmethod
    def _active_iso_4217(cls, value: str) -> str:
        if value not in ACTIVE_CURRENCIES:
            raise ValueError("must be an active ISO 4217 currency code in upper case, e.g. EUR")
        return value


class Order(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ord_01a23ac2b6cba94b2a9b61e5",
                    "user_id": "5f0c6d1e9a7b4c2d8e3f1a0b9c8d7e6f",
                    "status": "pending",
                    "items": [{"sku": "TEA-EARL-GREY", "quantity": 2, "unit_price_cents": 450}],
                    "total_cents": 900,
                    "currency": "EUR",
                    "created_at": "2026-09-08T12:00:00.000Z",
                    "updated_at": "2026-09-08T12:00:00.000Z",
                }
            ]
        }
    )

    id: str
    user_id: str
    status: OrderStatus
    items: list[OrderItem]
    total_cents: int
    currency: str
    created_at: str
    updated_at: str


class OrderPage(BaseModel):
    items: list[Order]
    next_cursor: str | None = None


class ListOrdersQuery(BaseModel):
    """`GET /api/orders` query. `user_id` is honoured for admins only."""

    status: OrderStatus | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Cursor | None = None
    user_id: str | None = None


class DeadLetter(BaseModel):
    """A queue message that exhausted its retries, as the dead-letter consumer recorded it."""

    id: str
    queue: str
    body: dict[str, Any]
    attempts: int
    last_error: str | None = None
    time: str


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None = None


class ListDeadLettersQuery(BaseModel):
    """`GET /api/admin/dead-letters` query: newest first, paged like every list."""

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Cursor | None = None


class ReplayAccepted(BaseModel):
    """`POST /api/admin/dead-letters/{id}/replay` answer (202)."""

    id: str
    status: Literal["replayed"] = "replayed"
