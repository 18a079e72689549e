"""What the orders worker's handlers are given: built per request by `orders.app.build_app`."""

from dataclasses import dataclass

from orders.dead_letters import DeadLetterService
from orders.maintenance import OrdersMaintenance
from orders.service import OrderService


@dataclass(frozen=True)
class OrdersContext:
    orders: OrderService
    dead_letters: DeadLetterService
    maintenance: OrdersMaintenance
