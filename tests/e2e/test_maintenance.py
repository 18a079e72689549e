"""Scheduled maintenance on the runtime, with the suite's short TTLs (tests/conftest.py):
Idempotency-Keys are forgotten once due. (Deleted accounts are erased by a workflow, not
a cron: tests/e2e/test_erasure.py.)"""

from __future__ import annotations

import time
from urllib.parse import quote

from tests.conftest import TEST_VARS

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
