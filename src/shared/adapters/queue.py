"""Queue producers behind a one-method interface.

Services publish plain dicts; the `workers` SDK's binding wrapper turns the dict into
a JS object, which the queue stores as JSON (the default content type), so consumers
get the same dict back as `message.body`.
"""

from typing import Any, Protocol


class EventPublisher(Protocol):
    async def send(self, event: dict[str, Any]) -> None:
        """Put one event on the queue; raises when the queue did not take it."""
        ...


class QueuePublisher(EventPublisher):
    """A Queues producer binding (`env.ORDER_EVENTS`, `env.USER_EVENTS`, ...)."""

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def send(self, event: dict[str, Any]) -> None:
        await self._binding.send(event)
