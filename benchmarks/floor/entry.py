"""The floor: the least a Python Worker can do per request (a constant answer).

What every worker pays before any code of its own runs: the runtime's call into
Python, the request's conversion (`python_from_rpc`), `Default(ctx, env)`, one
`workers.Response` and its way back (`python_to_rpc`).
"""

from typing import Any

from workers import Response, WorkerEntrypoint

_BODY = '{"status":"ok"}'


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return Response(_BODY, headers={"content-type": "application/json"})
