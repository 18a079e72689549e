"""GET /health: both services asked over their bindings, plus the interpreter we run on."""

import asyncio
import sys
from typing import Any

from contracts.internal import HEALTH_PATH
from gateway.breaker import GuardedService
from gateway.context import GatewayContext
from shared.adapters.services import ServiceError
from shared.http import HttpRequest, HttpResponse, json_response


def runtime_info() -> dict[str, str]:
    """Python version and platform: on Cloudflare (and the local runtime) this is Pyodide on emscripten."""
    info = {"python": sys.version.split()[0], "implementation": sys.implementation.name, "platform": sys.platform}
    pyodide = sys.modules.get("pyodide")
    if pyodide is not None:
        info["pyodide"] = getattr(pyodide, "__version__", "unknown")
    return info


_STATUS_BY_ERROR = {502: "failing", 503: "unavailable", 504: "timeout"}


async def _probe(service: GuardedService, request_id: str) -> dict[str, Any]:
    """The service's own answer (past its breaker, which a probe neither needs nor moves), and the breaker."""
    try:
        await service.client.request("GET", HEALTH_PATH, {"x-request-id": request_id})
        status = "ok"
    except ServiceError as error:
        status = _STATUS_BY_ERROR.get(error.status, "failing")
    return {"status": status, "breaker": await service.state()}


async def health_report(services: dict[str, GuardedService], request_id: str) -> tuple[dict[str, Any], bool]:
    """The /health document (every service probed at once), and whether all is well."""
    names = list(services)
    probes = await asyncio.gather(*(_probe(services[name], request_id) for name in names))
    healthy = all(probe["status"] == "ok" for probe in probes)
    body = {
        "status": "ok" if healthy else "degraded",
        "services": {name: probe["status"] for name, probe in zip(names, probes, strict=True)},
        "breakers": {name: probe["breaker"] for name, probe in zip(names, probes, strict=True)},
        "runtime": runtime_info(),
    }
    return body, healthy


async def health(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
    body, healthy = await health_report(ctx.services, request.request_id)
    return json_response(body, 200 if healthy else 503, None if healthy else {"Retry-After": "5"})
