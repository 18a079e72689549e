"""Alerts on the runtime: a fault makes the 5xx-rate alert fire once and resolve once, signed;
a dead letter makes the dead-letter alert fire. The gateway's cron trigger is run through the
scheduled door every EVERY_S seconds, as Cloudflare runs it every minute.

The local runtime runs with ALERT_ERROR_RATE_WINDOW_MINUTES=1 (tests/conftest.py), so the
5xx alert resolves a minute after the fault ends. The figure this file prints (run it with
`-rP`) is the alert latency: seconds from the fault's start to the firing POST's arrival.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest

from contracts.alerts import AlertsReport
from shared.adapters.webhook import verify
from tests.conftest import TEST_VARS
from tests.e2e.conftest import Account
from tests.webhook_receiver import Delivery, WebhookReceiver

CRON = "* * * * *"  # wrangler.toml [triggers]
EVALUATE = f"/cdn-cgi/local/scheduled?worker=gateway&cron={quote(CRON, safe='')}"
FAULTS = "/cdn-cgi/local/faults"
SQL_DOOR = "/cdn-cgi/local/client/v4/accounts/local/analytics_engine/sql"
RUN_POINTS = (
    "SELECT blob6 AS trace_id, blob5 AS outcome, blob3 AS cron FROM edge_api_metrics "
    "WHERE blob1 = 'gateway' AND blob2 = 'run' ORDER BY timestamp"
)
EVERY_S = 2.0  # how often the tests run the cron
FAILING_PER_RUN = 5  # requests answered 5xx between two runs while the fault holds
ORDER = {"items": [{"sku": "ALERT-1", "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"}


def evaluate(api: httpx.Client) -> None:
    answer = api.post(EVALUATE)
    assert answer.status_code == 200 and answer.json() == {"worker": "gateway", "cron": CRON, "outcome": "ok"}, (
        answer.text
    )


def report(api: httpx.Client, admin: Account) -> dict:
    answer = api.get("/api/admin/alerts", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    return AlertsReport.model_validate(answer.json()).model_dump()


def rule(api: httpx.Client, admin: Account, name: str) -> dict:
    return next(r for r in report(api, admin)["rules"] if r["name"] == name)


def run_points(api: httpx.Client) -> list[dict]:
    """The data points of the gateway's scheduled runs, through the local SQL door."""
    answer = api.post(SQL_DOOR, content=RUN_POINTS, headers={"Authorization": "Bearer local"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def about(name: str, kind: str | None = None) -> Callable[[Delivery], bool]:
    return lambda d: d.event.get("rule") == name and (kind is None or d.event.get("type") == f"alert.{kind}")


def every_run_until(api: httpx.Client, done: Callable[[], bool], timeout: float, between: Callable[[], None]) -> None:
    """Run the cron every EVERY_S seconds (doing `between` first each time) until `done`."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not done within {timeout} s"
        started = time.monotonic()
        between()
        evaluate(api)
        time.sleep(max(0.0, EVERY_S - (time.monotonic() - started)))


@pytest.fixture
def alerts(local, alert_receiver: WebhookReceiver) -> WebhookReceiver:
    alert_receiver.failing = False
    yield alert_receiver
    alert_receiver.failing = False


def test_only_admins_read_the_alert_rules_and_incidents(api, admin, user) -> None:
    assert api.get("/api/admin/alerts").status_code == 401
    assert api.get("/api/admin/alerts", headers=user.headers).status_code == 403
    answer = report(api, admin)
    assert [r["name"] for r in answer["rules"]] == ["error_rate", "latency_p95", "dead_letters", "breaker_open"]
    started = [incident["started_at"] for incident in answer["incidents"]]
    assert started == sorted(started, reverse=True)


def test_each_evaluation_is_one_data_point_in_a_trace_of_its_own(api, local) -> None:
    before = run_points(api)
    evaluate(api)
    evaluate(api)
    after = run_points(api)
    assert len(after) == len(before) + 2
    assert {(p["outcome"], p["cron"]) for p in after[-2:]} == {("ok", CRON)}
    assert len({p["trace_id"] for p in after}) == len(after)


def test_a_fault_fires_the_5xx_alert_once_and_it_resolves_once(api, admin, user, alerts, expect_5xx) -> None:
    def good_traffic() -> None:
        assert api.get("/api/users/me", headers=user.headers).status_code == 200

    # From a known state: earlier tests' 5xx have left the one-minute window.
    every_run_until(api, lambda: rule(api, admin, "error_rate")["state"] == "ok", 90, good_traffic)
    before = len(alerts.matching(about("error_rate")))

    def failing_traffic() -> None:
        for _ in range(FAILING_PER_RUN):
            expect_5xx(api.get("/api/orders", headers=user.headers))

    fault_started = time.monotonic()
    assert api.post(f"{FAULTS}?worker=orders&fault=fail").status_code == 200
    try:
        every_run_until(api, lambda: len(alerts.matching(about("error_rate"))) > before, 60, failing_traffic)
    finally:
        assert api.post(f"{FAULTS}?worker=orders&fault=none").status_code == 200
    [fired] = alerts.matching(about("error_rate"))[before:]
    latency = fired.at - fault_started

    def recovering() -> None:  # good traffic again; the breaker closes after its cool-down
        answer = api.get("/api/orders", headers=user.headers)
        if answer.status_code >= 500:
            expect_5xx(answer)

    every_run_until(api, lambda: len(alerts.matching(about("error_rate"))) > before + 1, 150, recovering)
    evaluate(api)
    fired_then_resolved = alerts.matching(about("error_rate"))[before:]
    assert [d.event["type"] for d in fired_then_resolved] == ["alert.firing", "alert.resolved"]  # once each
    firing, resolved = (d.event for d in fired_then_resolved)
    assert firing["incident_id"] == resolved["incident_id"] and firing["value"] > 2
    for delivery in fired_then_resolved:
        assert delivery.accepted
        assert verify(delivery.body, TEST_VARS["ALERT_WEBHOOK_SECRET"], delivery.headers["x-signature"])
        assert delivery.headers["x-event-id"] == delivery.event["id"]
    runs = {p["trace_id"] for p in run_points(api)}
    assert {d.headers["traceparent"].split("-")[1] for d in fired_then_resolved} <= runs  # each POST in its run's trace
    incident = next(i for i in report(api, admin)["incidents"] if i["id"] == firing["incident_id"])
    assert incident["rule"] == "error_rate" and incident["resolved_at"] == resolved["resolved_at"]
    assert rule(api, admin, "error_rate")["state"] == "ok"
    print(
        f"alert latency: {latency:.1f} s from the fault's start to the firing POST "
        f"(cron run every {EVERY_S:g} s, {FAILING_PER_RUN} failing requests between runs)"
    )


def test_a_dead_letter_fires_the_dead_letter_alert(api, admin, user, alerts, webhook_receiver) -> None:
    evaluate(api)
    waiting = rule(api, admin, "dead_letters")
    assert (waiting["state"], waiting["value"]) == ("ok", 0), "an earlier test left a dead letter waiting"
    before = len(alerts.matching(about("dead_letters")))
    webhook_receiver.failing = True  # the order webhook fails until the message is dead-lettered
    try:
        order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
        event_id = webhook_receiver.wait_for(order["id"])[0].headers["x-event-id"]
        every_run_until(api, lambda: len(alerts.matching(about("dead_letters"))) > before, 90, lambda: None)
    finally:
        webhook_receiver.failing = False
    [fired] = alerts.matching(about("dead_letters"))[before:]
    assert fired.event["type"] == "alert.firing" and fired.event["value"] == 1
    assert verify(fired.body, TEST_VARS["ALERT_WEBHOOK_SECRET"], fired.headers["x-signature"])
    assert rule(api, admin, "dead_letters")["state"] == "firing"

    letters = api.get("/api/admin/dead-letters", headers=admin.headers).json()["items"]
    [letter] = [letter for letter in letters if letter["body"].get("id") == event_id]
    assert api.post(f"/api/admin/dead-letters/{letter['id']}/replay", headers=admin.headers).status_code == 202
    webhook_receiver.wait_for(order["id"], accepted=True)
    evaluate(api)
    assert [d.event["type"] for d in alerts.matching(about("dead_letters"))[before:]] == [
        "alert.firing",
        "alert.resolved",
    ]
    assert rule(api, admin, "dead_letters")["state"] == "ok"
