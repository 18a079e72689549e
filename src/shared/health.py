"""The services' own health answer, which the gateway's /health aggregates."""

from shared.adapters.d1 import Database
from shared.http import Handler, HttpRequest, HttpResponse, json_response

async def service_health(worker: str, db: Database) -> HttpResponse:
    """ok when the worker's database answers a query."""
    await db.first("SELECT 1 AS ok")
    return json_response({"status": "ok", "worker": worker})

def health_handler(worker: str, db: Database) -> Handler[object]:
    async def health(request: HttpRequest, ctx: object) -> HttpResponse:
        return await service_health(worker, db)

    return health
