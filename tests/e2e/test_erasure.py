"""Account erasure, a Python Workflow on miniflare's Workflows engine, in Pyodide.

`DELETE /api/users/{id}` starts one instance per account; its steps cancel the open orders,
wait out USER_PURGE_AFTER_SECONDS (3 s in tests/conftest.py TEST_VARS), purge the account
and strip it from its orders. Faults come from the runtime's door (scripts/runtime/faults.mjs:
`step-fails` fails a step's attempt after its Python ran, so its effect has happened and its
answer is lost). Local only: the waits are the suite's. Killing the runtime while an erasure
waits is tests/toolchain/test_runtime_restart.py: it needs runtimes of its own, started after
this suite's runtime is done with (each start rebuilds `dist/`, whose assets that one serves).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import TEST_VARS
from tests.e2e.erasures import ORDER, STEPS, erasure, finished, time_between, wait_for
from tests.toolchain.tools import wrangler

CANCEL = STEPS[0]
DOOR = "/cdn-cgi/local/faults"
TIMING_TRACE = re.compile(r'traceparent;desc="00-([0-9a-f]{32})-')


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
