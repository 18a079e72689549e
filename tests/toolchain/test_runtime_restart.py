"""A workflow survives the local runtime's death: the state folder keeps the instance, and the
next start wakes it (scripts/runtime/workflows.mjs). Runtimes of its own, on a state folder of
its own, with the e2e suite's settings and a longer retention."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import TEST_VARS
from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, Account, login, register, sign_up
from tests.e2e.erasures import ORDER, STEPS, finished, time_between, wait_for
from tests.toolchain.tools import START_TIMEOUT_S, Runtime


def test_an_erasure_waiting_when_the_runtime_dies_completes_after_a_restart(tmp_path: Path) -> None:
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
