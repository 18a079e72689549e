"""The users worker assembled from its env: adapters over the bindings, the service, the routes."""

from typing import Any

from shared.adapters.d1 import D1, Database
from shared.adapters.kv import WorkersKv
from shared.adapters.queue import QueuePublisher
from shared.app import WorkerApp
from shared.config import env_int, env_list
from shared.health import health_handler
from shared.logging import Logger
from users.maintenance import Maintenance
from shared.maintenance_runs import MaintenanceRunRepository
from users.context import UsersContext
from users.repository import UserRepository
from users.routes import build_router
from users.service import UsersService, UsersSettings

WORKER = "users"
PURGE_JOB = "purge-deleted-users"


def settings_from(env: Any) -> UsersSettings:
    return UsersSettings(
        admin_emails=frozenset(email.lower() for email in env_list(env, "ADMIN_EMAILS")),
        cache_ttl_seconds=env_int(env, "PROFILE_CACHE_TTL_SECONDS", 300),
        purge_after_seconds=env_int(env, "USER_PURGE_AFTER_SECONDS", 30 * 24 * 3600),
    )


def build_service(env: Any, db: Database) -> UsersService:
    return UsersService(
        UserRepository(db), WorkersKv(env.PROFILE_CACHE), QueuePublisher(env.EVENTS), settings_from(env)
    )


def build_maintenance(db: Database) -> Maintenance:
    return Maintenance(MaintenanceRunRepository(db), WORKER)


def build_app(env: Any) -> WorkerApp[UsersContext]:
    db = D1(env.DB)
    context = UsersContext(build_service(env, db), build_maintenance(db))
    return WorkerApp(WORKER, build_router(health_handler(WORKER, db)), context)


async def run_scheduled(env: Any, cron: str) -> None:
    """The cron trigger: purge long soft-deleted users, leaving a run summary either way."""
    db = D1(env.DB)
    log = Logger(worker=WORKER)
    await build_maintenance(db).run(PURGE_JOB, cron, build_service(env, db).purge_deleted_users, log)
