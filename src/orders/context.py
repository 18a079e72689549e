"""What the orders worker's handlers and consumers are given: built per event by `orders.app.build_context`."""

from dataclasses import dataclass

from orders.dead_letters import DeadLetterService
from orders.events import EventConsumer
from orders.service import OrdersService
from shared.maintenance import Maintenance


@dataclass(frozen=True)
class OrdersContext:
    orders: OrdersService
    events: EventConsumer
    dead_letters: DeadLetterService
    maintenance: Maintenance
