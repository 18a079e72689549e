"""The gateway's routes, built from its env."""

from typing import Any

from gateway.health import health
from shared.adapters.services import ServiceClient
from shared.app import WorkerApp
from shared.config import env_int
from shared.http import Router


def build_router() -> Router:
    router = Router()
    router.add("GET", "/health", health)
    return router


def build_app(env: Any) -> WorkerApp:
    timeout = env_int(env, "SERVICE_TIMEOUT_MS", 10_000) / 1000
    services = {
        "users": ServiceClient("users", env.USERS, timeout),
        "orders": ServiceClient("orders", env.ORDERS, timeout),
    }
    return WorkerApp("gateway", build_router(), {"services": services})
