"""Gateway worker entry: the runtime's request in, the gateway app's answer out; the cron
trigger in, one evaluation of the alert rules.

`*_` takes the (env, ctx) some runtimes also pass to scheduled handlers.
"""

from typing import Any

from workers import WorkerEntrypoint

from gateway.app import WORKER, build_app, run_scheduled
from shared.platform import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await serve(request, WORKER, build_app, self.env)

    async def scheduled(self, controller: Any, *_: Any) -> None:
        await run_scheduled(self.env, str(controller.cron))
