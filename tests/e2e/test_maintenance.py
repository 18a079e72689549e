"""Scheduled maintenance on the runtime, with the suite's short TTLs (tests/conftest.py):
Idempotency-Keys are forgotten and soft-deleted accounts purged from D1 once due."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

from tests.conftest import TEST_VARS
from tests.toolchain.tools import wrangler

ORDER = {"items": [{"sku": "KEEP-1", "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"}


def run_cron(api, worker: str, cron: str) -> dict:
    response = api.post(f"/cdn-cgi/local/scheduled?worker={worker}&cron={quote(cron, safe='')}")
    assert response.status_code == 200, response.text
    return response.json()


def past_ttl(name: str) -> None:
    time.sleep(int(TEST_VARS[name]) + 1)


def test_a_forgotten_idempotency_key_makes_a_new_order(local, api, user):
    headers = {**user.headers, "Idempotency-Key": f"forget-{time.time_ns()}"}
    first = api.post("/api/orders", json=ORDER, headers=headers)
    changed = {**ORDER, "currency": "USD"}
    assert api.post("/api/orders", json=changed, headers=headers).status_code == 422  # remembered
    past_ttl("IDEMPOTENCY_TTL_SECONDS")
    run_cron(api, "orders", "*/15 * * * *")
    again = api.post("/api/orders", json=changed, headers=headers)
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]


def test_a_soft_deleted_account_is_purged_from_d1(local, api, user, tmp_path):
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204
    assert rows_with_id(local, user.id, tmp_path) == 1  # soft-deleted: the row is still there
    past_ttl("USER_PURGE_AFTER_SECONDS")
    assert run_cron(api, "users", "0 3 * * *")["outcome"] == "ok"
    assert rows_with_id(local, user.id, tmp_path) == 0


def rows_with_id(local, user_id: str, tmp_path) -> int:
    """Read the users database as an operator would, with wrangler on the runtime's state."""
    sql = f"SELECT COUNT(*) AS n FROM users WHERE id = '{user_id}'"
    args = ["d1", "execute", "edge-users", "--local", "--persist-to", str(local.state_dir), "--json"]
    done = wrangler([*args, "-c", "services/users/wrangler.toml", "--command", sql], tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    return int(json.loads(done.stdout)[0]["results"][0]["n"])
