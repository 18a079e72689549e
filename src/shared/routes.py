"""The routes every service answers the same way: its health, and its maintenance runs."""

from typing import Protocol

from shared.adapters.d1 import Database
from shared.http import Handler, HttpRequest, HttpResponse, json_response
from shared.identity import caller_of
from shared.maintenance import Maintenance


class HasMaintenance(Protocol):
    @property
    def maintenance(self) -> Maintenance: ...


def health_handler(worker: str, db: Database) -> Handler[object]:
    """ok when the worker's database answers a query; the gateway's /health asks each service."""

    async def health(request: HttpRequest, ctx: object) -> HttpResponse:
        await db.first("SELECT 1 AS ok")
        return json_response({"status": "ok", "worker": worker})

    return health


async def maintenance_runs(request: HttpRequest, ctx: HasMaintenance) -> HttpResponse:
    """This worker's latest run summaries (admins); the gateway merges both services' lists."""
    runs = await ctx.maintenance.recent(caller_of(request))
    return json_response({"items": [run.public() for run in runs]})
