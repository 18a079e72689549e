"""State that survives a restart of the local runtime, as a deploy or an isolate's end leaves
D1 on Cloudflare: an alert firing before the restart is the same incident after it, is not
announced again, and resolves once."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx

from tests.toolchain.tools import START_TIMEOUT_S, Runtime

LOGIN = {"email": "admin@example.com", "password": "correct horse battery"}
SETTINGS = ("--var", "ADMIN_EMAILS:admin@example.com", "--var", "BREAKER_COOLDOWN_SECONDS:1")
EVALUATE = f"/cdn-cgi/local/scheduled?worker=gateway&cron={quote('* * * * *', safe='')}"


def started(tmp_path: Path) -> tuple[Runtime, httpx.Client]:
    runtime = Runtime(tmp_path, *SETTINGS)
    assert runtime.ready.wait(START_TIMEOUT_S), "".join(runtime.stderr)
    return runtime, httpx.Client(base_url=f"http://127.0.0.1:{runtime.port}", timeout=60)


def breaker_rule(api: httpx.Client, token: str) -> tuple[dict, list[dict]]:
    assert api.post(EVALUATE).status_code == 200
    answer = api.get("/api/admin/alerts", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    rules = {rule["name"]: rule for rule in answer.json()["rules"]}
    return rules["breaker_open"], answer.json()["incidents"]


def test_a_firing_alert_is_the_same_incident_after_a_restart_and_resolves_once(tmp_path: Path) -> None:
    runtime, api = started(tmp_path)
    try:
        assert api.post("/api/auth/register", json={**LOGIN, "name": "Admin"}).status_code == 201
        token = api.post("/api/auth/login", json=LOGIN).json()["access_token"]
        assert api.post("/cdn-cgi/local/faults?worker=orders&fault=fail").status_code == 200
        statuses = {api.get("/api/orders", headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(5)}
        assert statuses == {502}  # five failures open the orders breaker
        before, [incident] = breaker_rule(api, token)
        assert before["state"] == "firing" and incident["resolved_at"] is None
    finally:
        api.close()
        runtime.stop()

    runtime, api = started(tmp_path)  # the fault was the old process's; the breaker's record is in KV
    try:
        after, incidents = breaker_rule(api, token)
        assert (after["state"], after["since"]) == ("firing", before["since"])
        assert incidents == [incident]  # not opened again
        assert api.get("/api/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        resolved, [closed] = breaker_rule(api, token)
        assert resolved["state"] == "ok" and closed["id"] == incident["id"] and closed["resolved_at"]
    finally:
        api.close()
        runtime.stop()
