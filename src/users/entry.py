"""Users worker entry: the runtime's events in, the users app's answers out; and the
account erasure workflow's class (`[[workflows]] class_name` in its config)."""

from typing import Any

from workers import WorkerEntrypoint, WorkflowEntrypoint

from shared.platform import serve
from users.app import WORKER, build_app, run_erasure, run_scheduled


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await serve(request, WORKER, build_app, self.env)

    async def scheduled(self, controller: Any) -> None:
        """Cron trigger (or the local scheduled door): `controller.cron` names the schedule."""
        await run_scheduled(self.env, str(controller.cron))


class AccountErasure(WorkflowEntrypoint):
    """One deleted account's erasure (users.erasure): `event["payload"]` holds its params."""

    async def run(self, event: Any, step: Any) -> Any:
        return await run_erasure(self.env, event, step)
