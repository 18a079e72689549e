"""GET /health: both services asked over their bindings, plus the interpreter we run on."""

import asyncio
import sys

from contracts.internal import HEALTH_PATH
from gateway.context import GatewayContext
from shared.adapters.services import ServiceClient, ServiceError
from shared.http import HttpRequest, HttpResponse, json_response


def runtime_info() -> dict[str, str]:
    """Python version and platform: on Cloudflare (and the local runtime) this is Pyodide on emscripten."""
    info = {"python": sys.version.split()[0], "implementation": sys.implementation.name, "platform": sys.platform}
    pyodide = sys.modules.get("pyodide")
    if pyodide is not None:
        info["pyodide"] = getattr(pyodide, "__version__", "unknown")
    return info


async def _probe(client: ServiceClient, request_id: str) -> str:
    try:
        response = await client.request("GET", HEALTH_PATH, {"x-request-id": request_id})
    except ServiceError:
        return "unavailable"
    return "ok" if response.status == 200 else "failing"


async def health(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    names = list(ctx.services)
    states = await asyncio.gather(*(_probe(ctx.services[name], request.request_id) for name in names))
    report = dict(zip(names, states, strict=True))
    healthy = all(state == "ok" for state in states)
    body = {"status": "ok" if healthy else "degraded", "services": report, "runtime": runtime_info()}
    return json_response(body, 200 if healthy else 503, None if healthy else {"Retry-After": "5"})
