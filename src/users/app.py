"""The users worker's composition root: its env in; the context, the app, the cron run and
the erasure workflow's run out."""

from typing import Any

from shared.adapters.analytics import telemetry_for
from shared.adapters.d1 import D1, Database
from shared.adapters.kv import WorkersKv
from shared.adapters.services import service_client
from shared.adapters.workflows import WorkflowBinding
from shared.app import WorkerApp
from shared.config import env_int, env_list
from shared.logging import Logger
from shared.maintenance import Maintenance
from shared.maintenance_runs import MaintenanceRunRepository
from shared.routes import health_handler
from users.context import UsersContext
from users.erasure import AccountErasure, ErasureParams, ErasureService, ErasureSteps, OrdersAccountsClient, RetryPolicy
from users.repository import ErasureRepository, UserRepository
from users.routes import build_router
from users.service import UsersService, UsersSettings, cache_key
from users.throttle import ThrottlePolicy

WORKER = "users"
MAINTENANCE_JOB = "users-maintenance"


def settings_from(env: Any) -> UsersSettings:
    return UsersSettings(
        admin_emails=frozenset(email.lower() for email in env_list(env, "ADMIN_EMAILS")),
        cache_ttl_seconds=env_int(env, "PROFILE_CACHE_TTL_SECONDS", 300),
        purge_after_seconds=env_int(env, "USER_PURGE_AFTER_SECONDS", 30 * 24 * 3600),
        refresh_ttl_seconds=env_int(env, "REFRESH_TTL_SECONDS", 30 * 24 * 3600),
        throttle=ThrottlePolicy(
            max_failures=env_int(env, "LOGIN_MAX_FAILURES", 5),
            window_seconds=env_int(env, "LOGIN_FAILURE_WINDOW_SECONDS", 900),
            lockout_seconds=env_int(env, "LOGIN_LOCKOUT_SECONDS", 60),
            lockout_max_seconds=env_int(env, "LOGIN_LOCKOUT_MAX_SECONDS", 3600),
        ),
    )


def build_context(env: Any, db: Database) -> UsersContext:
    settings = settings_from(env)
    erasures = ErasureService(ErasureRepository(db), WorkflowBinding(env.ERASURES), settings.purge_after_seconds)
    users = UsersService(UserRepository(db), WorkersKv(env.PROFILE_CACHE), erasures, settings)
    return UsersContext(users, erasures, Maintenance(MaintenanceRunRepository(db), WORKER))


def build_app(env: Any, db: Database | None = None) -> WorkerApp[UsersContext]:
    db = db or D1(env.DB)
    router = build_router(health_handler(WORKER, db))
    return WorkerApp(WORKER, router, build_context(env, db), telemetry=telemetry_for(env, WORKER))


async def run_scheduled(env: Any, cron: str, db: Database | None = None) -> None:
    """The cron trigger: the maintenance tasks, with a run summary either way."""
    ctx = build_context(env, db or D1(env.DB))
    tasks = {**ctx.users.maintenance_tasks(), "restart_stuck_erasures": ctx.erasures.sweep}
    await telemetry_for(env, WORKER).run(
        cron, lambda: ctx.maintenance.run(MAINTENANCE_JOB, cron, tasks, Logger(worker=WORKER))
    )


def build_erasure(env: Any, db: Database | None = None) -> AccountErasure:
    """The erasure workflow's steps over this env's bindings (`ORDERS`, `DB`, `PROFILE_CACHE`)."""
    db = db or D1(env.DB)
    journal = ErasureRepository(db)
    orders = OrdersAccountsClient(service_client(env, "orders", env.ORDERS))
    steps = ErasureSteps(journal, UserRepository(db), WorkersKv(env.PROFILE_CACHE), orders, cache_key)
    retry = RetryPolicy(env_int(env, "ERASURE_STEP_RETRIES", 5), env_int(env, "ERASURE_RETRY_DELAY_SECONDS", 10))
    return AccountErasure(steps, journal, telemetry_for(env, WORKER), retry, Logger(worker=WORKER))


async def run_erasure(env: Any, event: dict[str, Any], step: Any) -> dict[str, Any]:
    """One run of an erasure instance: `event` as the SDK hands it (its `payload` the params)."""
    return await build_erasure(env).run(ErasureParams.from_params(event["payload"]), step)
