"""What leaves a service has the contract's shape: each domain record's `public()` view
validates as the contract model of the same name and loses nothing in the round trip."""

import pytest
from pydantic import BaseModel

from contracts.maintenance import MaintenanceRun
from contracts.orders import DeadLetter, Order
from contracts.users import User
from orders.domain import DeadLetterRecord, LineItem, OrderRecord
from shared.adapters.crypto import PasswordHash
from shared.maintenance_runs import MaintenanceRunRecord
from users.domain import UserRecord

NOW = "2026-09-08T12:00:00.000Z"
RECORDS = [
    (User, UserRecord("usr_1", "a@example.com", "Ada", "user", PasswordHash(b"s", b"h", 100_000), NOW, NOW)),
    (Order, OrderRecord("ord_1", "usr_1", "pending", (LineItem("SKU-1", 2, 150),), 300, "EUR", NOW, NOW)),
    (DeadLetter, DeadLetterRecord("msg_1", "edge-order-events", {"type": "order.created"}, 4, "boom", NOW)),
    (
        MaintenanceRun,
        MaintenanceRunRecord("run_1", "orders", "orders-maintenance", "* * * * *", NOW, NOW, {"n": 1}, []),
    ),
]


@pytest.mark.parametrize(("contract", "record"), RECORDS, ids=[c.__name__ for c, _ in RECORDS])
def test_public_view_is_the_contract(contract: type[BaseModel], record) -> None:
    public = record.public()
    assert contract.model_validate(public).model_dump(mode="json") == public
    assert set(public) == set(contract.model_fields)
