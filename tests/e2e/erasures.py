"""Reading an account's erasure through the API, for the tests that drive one
(tests/e2e/test_erasure.py on the suite's runtime, tests/toolchain/test_runtime_restart.py on
runtimes of its own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from tests.e2e.conftest import Account, client_address

ORDER = {"items": [{"sku": "ERASE-1", "quantity": 1, "unit_price_cents": 700}], "currency": "EUR"}
STEPS = ["cancel open orders", "wait out retention", "purge account", "strip personal data from orders"]


def erasure(api: httpx.Client, admin: Account, user_id: str, address: str | None = None) -> dict[str, Any]:
    headers = {**admin.headers, **({"CF-Connecting-IP": address} if address else {})}
    answer = api.get(f"/api/admin/erasures/{user_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(
    api: httpx.Client, admin: Account, user_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    """Polls from an address of its own, under the gateway's 100 requests a minute per address."""
    deadline, address, every = time.monotonic() + timeout, client_address(), max(1.0, timeout / 80)
    while True:
        state = erasure(api, admin, user_id, address)
        if done(state):
            return state
        assert time.monotonic() < deadline, f"the erasure did not get there in {timeout} s: {state}"
        time.sleep(every)


def finished(state: dict[str, Any]) -> bool:
    return state["status"] in ("complete", "errored")


def time_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
