"""A Workflow binding behind a small interface: start an instance, read its status, restart it.

The instance id is the caller's (so one thing has one instance); what `status` answers is the
platform's: `queued`, `running`, `paused`, `errored`, `terminated`, `complete`, `waiting`,
`waitingForPause` or `unknown`, and the error that ended an errored one.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from shared.adapters.jsvalues import js_binding, to_js_value, to_python
from shared.telemetry import awaited, count, with_trace


@dataclass(frozen=True)
class InstanceStatus:
    status: str
    error: str | None  # "<name>: <message>" of what ended an errored instance


class Workflows(Protocol):
    async def create(self, instance_id: str, params: dict[str, Any]) -> None:
        """Start instance `instance_id` with `params` and the current trace (`traceparent`,
        `tracestate` beside them, as in a queue message); raises when it was not created."""
        ...

    async def status(self, instance_id: str) -> InstanceStatus | None:
        """None when there is no such instance."""
        ...

    async def restart(self, instance_id: str) -> None:
        """Run the instance again from its first step (its params kept)."""
        ...


class WorkflowBinding(Workflows):
    """A `[[workflows]]` binding (`env.ERASURES`)."""

    def __init__(self, binding: Any) -> None:
        self._binding = js_binding(binding)

    async def create(self, instance_id: str, params: dict[str, Any]) -> None:
        count("subrequests")
        await awaited(self._binding.create(to_js_value({"id": instance_id, "params": with_trace(params)})))

    async def _instance(self, instance_id: str) -> Any:
        count("subrequests")
        return await awaited(self._binding.get(instance_id))

    async def status(self, instance_id: str) -> InstanceStatus | None:
        try:
            instance = await self._instance(instance_id)
        except Exception as error:  # the binding's only answer for an unknown id is an error
            if "not_found" in str(error):
                return None
            raise
        answer = to_python(await awaited(instance.status())) or {}
        failure = answer.get("error")
        reason = f"{failure.get('name', 'Error')}: {failure.get('message', '')}" if isinstance(failure, dict) else None
        return InstanceStatus(str(answer.get("status", "unknown")), reason)

    async def restart(self, instance_id: str) -> None:
        instance = await self._instance(instance_id)
        await awaited(instance.restart())
