"""Orders worker entry: the runtime's events in, plain Python to the services, answers out.

`*_` takes the (env, ctx) some runtimes also pass to queue/scheduled handlers.
"""

from typing import Any

from workers import WorkerEntrypoint

from orders.app import WORKER, build_app, consume_batch, run_scheduled
from orders.messages import apply_decisions, message_from_runtime
from shared.platform import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await serve(request, WORKER, build_app, self.env)

    async def queue(self, batch: Any, *_: Any) -> None:
        messages = list(batch.messages)
        decisions = await consume_batch(self.env, str(batch.queue), [message_from_runtime(m) for m in messages])
        apply_decisions(messages, decisions)

    async def scheduled(self, controller: Any, *_: Any) -> None:
        await run_scheduled(self.env, str(controller.cron))
