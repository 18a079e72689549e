"""The users worker's routes, built from its env."""

from typing import Any

from shared.adapters.d1 import D1
from shared.app import WorkerApp
from shared.health import HEALTH_PATH, health_handler
from shared.http import Router


def build_app(env: Any) -> WorkerApp:
    db = D1(env.DB)
    router = Router()
    router.add("GET", HEALTH_PATH, health_handler("users", db))
    return WorkerApp("users", router)
