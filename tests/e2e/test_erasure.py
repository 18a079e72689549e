"""Account erasure, a Python Workflow on miniflare's Workflows engine, in Pyodide.

`DELETE /api/users/{id}` starts one instance per account; its steps cancel the open orders,
wait out USER_PURGE_AFTER_SECONDS (3 s in tests/conftest.py TEST_VARS), purge the account
and strip it from its orders. Faults come from the runtime's door (scripts/runtime/faults.mjs:
`step-fails` fails a step's attempt after its Python ran, so its effect has happened and its
answer is lost) and from killing the runtime itself. Local only: the waits are the suite's.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_VARS
from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, Account, client_address, login, register, sign_up
from tests.toolchain.tools import START_TIMEOUT_S, Runtime, wrangler

ORDER = {"items": [{"sku": "ERASE-1", "quantity": 1, "unit_price_cents": 700}], "currency": "EUR"}
STEPS = ["cancel open orders", "wait out retention", "purge account", "strip personal data from orders"]
CANCEL = STEPS[0]
DOOR = "/cdn-cgi/local/faults"
TIMING_TRACE = re.compile(r'traceparent;desc="00-([0-9a-f]{32})-')


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


def rows_with_id(local, user_id: str, tmp_path: Path) -> int:
    """Read the users database as an operator would, with wrangler on the runtime's state."""
    sql = f"SELECT COUNT(*) AS n FROM users WHERE id = '{user_id}'"
    args = ["d1", "execute", "edge-users", "--local", "--persist-to", str(local.state_dir), "--json"]
    done = wrangler([*args, "-c", "services/users/wrangler.toml", "--command", sql], tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    return int(json.loads(done.stdout)[0]["results"][0]["n"])


@pytest.fixture
def fail_step(local, api):
    """`fail_step(name, times)`: the next `times` attempts (or "always") of the users worker's
    step `name` fail after their work; cleared at teardown."""

    def inject(name: str, times: int | str) -> None:
        answer = api.post(DOOR, params={"worker": "users", "fault": "step-fails", "step": name, "times": str(times)})
        assert answer.status_code == 200, answer.text

    yield inject
    api.post(DOOR, params={"worker": "users", "fault": "none"})


def test_a_deleted_account_is_erased_step_by_step_in_the_trace_of_its_delete(local, api, admin, user, tmp_path):
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    since = local.mark()
    deleted = api.delete(f"/api/users/{user.id}", headers=user.headers)
    assert deleted.status_code == 204
    assert api.delete(f"/api/users/{user.id}", headers=admin.headers).status_code == 404  # starts nothing
    started = erasure(api, admin, user.id)
    assert started["user_id"] == user.id and started["status"] in ("running", "waiting")
    assert [step["name"] for step in started["steps"]] == STEPS

    done = wait_for(api, admin, user.id, finished)

    assert done["status"] == "complete" and done["error"] is None, done
    assert [(s["name"], s["status"], s["attempts"]) for s in done["steps"]] == [(n, "complete", 1) for n in STEPS]
    assert done["created_at"] < done["steps"][0]["started_at"] <= done["finished_at"]
    waited = done["steps"][1]
    assert time_between(waited["started_at"], waited["finished_at"]) >= int(TEST_VARS["USER_PURGE_AFTER_SECONDS"]) - 1
    kept = api.get(f"/api/orders/{order['id']}", headers=admin.headers).json()
    assert kept["status"] == "cancelled" and kept["user_id"].startswith("erased_"), kept
    assert kept["items"] == order["items"] and kept["total_cents"] == order["total_cents"]
    assert api.get("/api/orders", params={"user_id": user.id}, headers=admin.headers).json()["items"] == []
    assert rows_with_id(local, user.id, tmp_path) == 0
    # Each step logged in the DELETE's trace, each attempt in a span of its own.
    trace_id = TIMING_TRACE.search(deleted.headers["server-timing"]).group(1)
    lines = [r for r in local.logs(since) if r.get("message") == "erasure step done" and r.get("user_id") == user.id]
    assert [line["step"] for line in lines] == STEPS
    assert {line["trace_id"] for line in lines} == {trace_id}
    assert len({line["span_id"] for line in lines}) == len(STEPS)
    assert {line["request_id"] for line in lines} == {deleted.headers["x-request-id"]}


def test_an_unknown_or_live_account_has_no_erasure_and_only_admins_read_them(api, admin, user):
    assert api.get(f"/api/admin/erasures/{user.id}", headers=admin.headers).status_code == 404
    assert api.get("/api/admin/erasures/usr_nobody", headers=admin.headers).status_code == 404
    assert api.get(f"/api/admin/erasures/{user.id}", headers=user.headers).status_code == 403
    assert api.get(f"/api/admin/erasures/{user.id}").status_code == 401


def test_a_step_that_fails_twice_succeeds_on_its_third_attempt_and_cancels_once(local, api, admin, user, fail_step):
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    fail_step(CANCEL, 2)
    since = local.mark()
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204

    done = wait_for(api, admin, user.id, finished)

    assert done["status"] == "complete", done
    assert [s["attempts"] for s in done["steps"]] == [3, 1, 1, 1]
    attempts = [
        r
        for r in local.logs(since)
        if r.get("message") == "erasure step done" and r.get("step") == CANCEL and r.get("user_id") == user.id
    ]
    # Every attempt ran the step; only the first found the order open: it was cancelled once.
    assert [(r["attempt"], r["result"]) for r in attempts] == [(1, 1), (2, 0), (3, 0)]
    assert api.get(f"/api/orders/{order['id']}", headers=admin.headers).json()["status"] == "cancelled"


def test_a_step_that_always_fails_errors_the_erasure_until_the_cron_restarts_it(local, api, admin, user, fail_step):
    fail_step(CANCEL, "always")
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204

    errored = wait_for(api, admin, user.id, finished)

    retries = int(TEST_VARS["ERASURE_STEP_RETRIES"])
    assert errored["status"] == "errored" and "injected fault" in errored["error"], errored
    assert [(s["status"], s["attempts"]) for s in errored["steps"]] == [
        ("errored", retries + 1),
        ("pending", 0),
        ("pending", 0),
        ("pending", 0),
    ]
    assert errored["finished_at"] is not None
    api.post(DOOR, params={"worker": "users", "fault": "none"})
    swept = api.post("/cdn-cgi/local/scheduled", params={"worker": "users", "cron": "0 3 * * *"})
    assert swept.status_code == 200 and swept.json()["outcome"] == "ok", swept.text
    done = wait_for(api, admin, user.id, lambda state: state["status"] == "complete")
    assert [s["status"] for s in done["steps"]] == ["complete"] * len(STEPS) and done["error"] is None


def test_an_erasure_waiting_when_the_runtime_dies_completes_after_a_restart(local, tmp_path):
    """The whole runtime is killed (SIGKILL to it and its workerd) while the instance waits;
    started again on the same state folder, it wakes the instance, which completes without
    running a completed step again."""
    retention = 40
    settings = {**TEST_VARS, "USER_PURGE_AFTER_SECONDS": str(retention)}
    args = [arg for key, value in settings.items() for arg in ("--var", f"{key}:{value}")]
    first = Runtime(tmp_path, *args)
    try:
        assert first.ready.wait(START_TIMEOUT_S), "".join(first.stderr)
        with httpx.Client(base_url=first.url, timeout=60, headers={"CF-Connecting-IP": "192.0.2.18"}) as api:
            assert register(api, ADMIN_EMAIL, PASSWORD).status_code == 201
            admin = Account("", ADMIN_EMAIL, "admin", login(api, ADMIN_EMAIL).json()["access_token"])
            user = sign_up(api)
            order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
            assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204
            waiting = wait_for(api, admin, user.id, lambda state: state["status"] == "waiting")
    finally:
        first.crash()
    second = Runtime(tmp_path, *args)
    try:
        assert second.ready.wait(START_TIMEOUT_S), "".join(second.stderr)
        with httpx.Client(base_url=second.url, timeout=60, headers={"CF-Connecting-IP": "192.0.2.18"}) as api:
            done = wait_for(api, admin, user.id, finished, timeout=retention + 60)
            kept = api.get(f"/api/orders/{order['id']}", headers=admin.headers).json()
    finally:
        second.stop()
    assert done["status"] == "complete", done
    assert [(s["status"], s["attempts"]) for s in done["steps"]] == [("complete", 1)] * len(STEPS)
    assert done["steps"][0] == waiting["steps"][0]  # the first step was not run again
    assert time_between(done["created_at"], done["steps"][2]["started_at"]) >= retention
    assert kept["status"] == "cancelled" and kept["user_id"].startswith("erased_")


def time_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
