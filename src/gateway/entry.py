"""Gateway worker entry: the runtime's request in, the gateway app's answer out."""

from typing import Any

from workers import WorkerEntrypoint

from gateway.app import WORKER, build_app
from shared.platform import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await serve(request, WORKER, build_app, self.env)
