"""Queue producers behind a one-method interface.

Services publish plain dicts; the adapter turns the dict into a JS object (`jsvalues`
says why not through the SDK's wrapper), which the queue stores as JSON (the default
content type), so consumers get the same dict back as `message.body`. Queues have no
message headers, so the current trace travels in the body (`traceparent`, `tracestate`:
shared.telemetry.with_trace), where a dead letter keeps it for its replay.
"""

from typing import Any, Protocol

from shared.adapters.jsvalues import js_binding, to_js_value
from shared.telemetry import awaited, count, with_trace


class EventPublisher(Protocol):
    async def send(self, event: dict[str, Any]) -> None:
        """Put one event on the queue; raises when the queue did not take it."""
        ...


class QueuePublisher(EventPublisher):
    """A Queues producer binding (`env.ORDER_EVENTS`, `env.USER_EVENTS`, ...)."""

    def __init__(self, binding: Any) -> None:
        self._binding = js_binding(binding)

    async def send(self, event: dict[str, Any]) -> None:
        count("queue_messages")
        await awaited(self._binding.send(to_js_value(with_trace(event))))
