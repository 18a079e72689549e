"""The alert rules' evaluation (gateway.alerts) on real SQLite with the gateway's migrations:
transitions, one POST per transition, retries, state kept between evaluations, pruning."""

import asyncio
import json
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from contracts.alerts import AlertsReport
from gateway.alert_store import D1AlertStore
from gateway.alerts import AlertService, AlertSettings, Evaluation, SignalUnavailable, Traffic
from gateway.app import alert_settings
from shared.adapters.webhook import WebhookNotifier, verify
from shared.config import ConfigError
from shared.logging import Logger
from tests.unit.sqlite_db import SqliteDatabase
from tests.unit.test_orders_support import Clock, WebhookReceiver, YieldingDatabase, run

SECRET = "alert-secret"
LOG = Logger(worker="gateway", test="alerts")


@dataclass
class FakeSignals:
    """Settable readings; `None` for a signal makes it unreadable."""

    requests: int | None = 100
    errors: int = 0
    p95_ms: float = 50.0
    dead_letters: int | None = 0
    breakers: int | None = 0

    async def traffic(self, window_minutes: int) -> Traffic:
        if self.requests is None:
            raise SignalUnavailable("the SQL API answered HTTP 500")
        return Traffic(self.requests, self.errors, self.p95_ms)

    async def dead_letters_waiting(self) -> int:
        if self.dead_letters is None:
            raise SignalUnavailable("orders: orders is unavailable")
        return self.dead_letters

    async def breakers_open(self) -> int:
        if self.breakers is None:
            raise SignalUnavailable("the breaker states could not be read")
        return self.breakers


class Alerts:
    """An alert service on SQLite, with a receiver (or none) and a clock."""

    def __init__(self, webhook: bool = True, settings: AlertSettings | None = None, db=None) -> None:
        self.db = db or SqliteDatabase("gateway")
        self.receiver = WebhookReceiver(204)
        self.clock = Clock()
        notifier = WebhookNotifier("https://alerts.test/hook", SECRET, self.receiver) if webhook else None
        self.service = AlertService(D1AlertStore(self.db), settings or AlertSettings(), notifier, self.clock)

    def evaluate(self, signals: FakeSignals) -> Evaluation:
        return run(self.service.evaluate(signals, LOG))

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body, _ in self.receiver.posts]

    def report(self) -> dict:
        return AlertsReport.model_validate(run(self.service.report())).model_dump()

    def rule(self, name: str) -> dict:
        return next(rule for rule in self.report()["rules"] if rule["name"] == name)


def test_a_5xx_rate_over_the_threshold_fires_once_and_resolves_once() -> None:
    alerts, signals = Alerts(), FakeSignals()
    assert alerts.evaluate(signals).firing == []
    signals.errors = 3  # 3% of 100
    fired = alerts.evaluate(signals)
    assert fired.opened == ["error_rate"] and fired.values["error_rate"] == 3.0
    for _ in range(3):  # still firing, worse then better: no second POST
        signals.errors = 10 if signals.errors == 3 else 3
        assert alerts.evaluate(signals).firing == ["error_rate"]
    signals.errors = 2  # exactly the threshold is not over it
    assert alerts.evaluate(signals).resolved == ["error_rate"]
    alerts.evaluate(signals)
    events = alerts.events()
    assert [(e["type"], e["rule"]) for e in events] == [
        ("alert.firing", "error_rate"),
        ("alert.resolved", "error_rate"),
    ]
    firing, resolved = events
    assert firing["id"] == f"{firing['incident_id']}.firing" and resolved["id"] == f"{firing['incident_id']}.resolved"
    assert resolved["value"] == 10.0  # the worst value seen while it fired
    assert firing["threshold"] == 2.0 and firing["window_minutes"] == 5 and resolved["resolved_at"]
    for _, body, headers in alerts.receiver.posts:
        assert verify(body.encode(), SECRET, headers["X-Signature"])
        assert headers["X-Event-Id"] == json.loads(body)["id"]
    [incident] = alerts.report()["incidents"]
    assert incident == {
        "id": firing["incident_id"],
        "rule": "error_rate",
        "started_at": firing["started_at"],
        "resolved_at": resolved["resolved_at"],
        "value": 10.0,
    }


def test_too_few_requests_to_judge_count_as_ok() -> None:
    """1 failure in 3 requests is 33%, but under min_requests (20) it is no judgement: ok, value null."""
    alerts = Alerts()
    alerts.evaluate(FakeSignals(requests=3, errors=1, p95_ms=5000))
    assert alerts.rule("error_rate")["state"] == "ok" and alerts.rule("error_rate")["value"] is None
    assert alerts.rule("latency_p95")["state"] == "ok" and alerts.rule("latency_p95")["value"] is None
    assert alerts.evaluate(FakeSignals(requests=20, errors=1, p95_ms=5000)).opened == ["error_rate", "latency_p95"]


def test_each_rule_fires_above_its_own_threshold() -> None:
    alerts = Alerts(settings=AlertSettings(latency_p95_ms=300, dead_letters_max=1))
    evaluation = alerts.evaluate(FakeSignals(p95_ms=301, dead_letters=1, breakers=1))
    assert evaluation.opened == ["latency_p95", "breaker_open"]  # 1 dead letter is not over 1
    assert alerts.evaluate(FakeSignals(p95_ms=301, dead_letters=2, breakers=1)).opened == ["dead_letters"]
    assert {rule["name"]: rule["state"] for rule in alerts.report()["rules"]} == {
        "error_rate": "ok",
        "latency_p95": "firing",
        "dead_letters": "firing",
        "breaker_open": "firing",
    }


def test_an_unreadable_signal_neither_fires_nor_resolves() -> None:
    alerts, signals = Alerts(), FakeSignals(dead_letters=3)
    alerts.evaluate(signals)
    signals.dead_letters, signals.requests = None, None
    evaluation = alerts.evaluate(signals)
    assert evaluation.resolved == [] and evaluation.firing == ["dead_letters"]
    assert alerts.rule("dead_letters")["state"] == "firing" and alerts.rule("dead_letters")["value"] is None
    assert alerts.rule("error_rate")["state"] == "ok"
    signals.dead_letters = 0
    assert alerts.evaluate(signals).resolved == ["dead_letters"]
    assert len(alerts.events()) == 2


def test_a_failed_post_is_retried_at_the_next_evaluation_and_never_sent_twice() -> None:
    alerts, signals = Alerts(), FakeSignals(breakers=1)
    alerts.receiver.status = 503
    alerts.evaluate(signals)
    alerts.evaluate(signals)
    assert [json.loads(body)["type"] for _, body, _ in alerts.receiver.posts] == ["alert.firing"] * 2
    signals.breakers = 0
    alerts.evaluate(signals)  # resolved meanwhile: the firing POST is still owed first, and fails
    assert [json.loads(body)["type"] for _, body, _ in alerts.receiver.posts[-1:]] == ["alert.firing"]
    alerts.receiver.status = 204
    assert alerts.evaluate(signals).delivered == 2
    assert alerts.evaluate(signals).delivered == 0
    accepted = [json.loads(body) for _, body, _ in alerts.receiver.posts[-2:]]
    assert [event["type"] for event in accepted] == ["alert.firing", "alert.resolved"]
    assert len({event["id"] for event in alerts.events()}) == 2  # every retry carried the same event id


def test_without_a_webhook_incidents_are_recorded_and_nothing_is_owed() -> None:
    db = SqliteDatabase("gateway")
    quiet = Alerts(webhook=False, db=db)
    quiet.evaluate(FakeSignals(breakers=1))
    quiet.evaluate(FakeSignals(breakers=0))
    assert len(quiet.report()["incidents"]) == 1
    configured = Alerts(webhook=True, db=db)  # a URL set later does not send old news
    configured.evaluate(FakeSignals(breakers=0))
    assert configured.receiver.posts == []


def test_the_state_is_the_database_s_a_new_service_carries_on() -> None:
    """A restart is a new isolate: a service built afresh on the same database sees the rule firing."""
    db = SqliteDatabase("gateway")
    Alerts(db=db).evaluate(FakeSignals(breakers=1))
    later = Alerts(db=db)
    assert later.rule("breaker_open")["state"] == "firing"
    assert later.evaluate(FakeSignals(breakers=1)).opened == []
    assert later.evaluate(FakeSignals(breakers=0)).resolved == ["breaker_open"]
    assert later.receiver.posts and json.loads(later.receiver.posts[-1][1])["type"] == "alert.resolved"


def test_rules_report_since_when_their_state_holds() -> None:
    alerts = Alerts()
    before = alerts.report()
    assert before["evaluated_at"] is None and before["incidents"] == []
    assert all(rule["since"] is None and rule["value"] is None and rule["state"] == "ok" for rule in before["rules"])
    alerts.evaluate(FakeSignals())
    first = alerts.rule("breaker_open")["since"]
    alerts.evaluate(FakeSignals())
    assert alerts.rule("breaker_open")["since"] == first  # still ok since the first evaluation
    alerts.evaluate(FakeSignals(breakers=2))
    fired = alerts.rule("breaker_open")
    assert fired["since"] > first and fired["value"] == 2.0 and fired["state"] == "firing"
    assert alerts.report()["evaluated_at"] >= fired["since"]


def test_incidents_are_listed_newest_first_and_pruned_to_the_newest_kept() -> None:
    alerts = Alerts(settings=AlertSettings(incidents_kept=3))
    for _ in range(5):
        alerts.evaluate(FakeSignals(breakers=1))
        alerts.evaluate(FakeSignals(breakers=0))
    alerts.evaluate(FakeSignals(breakers=1))  # an open one is never pruned
    incidents = alerts.report()["incidents"]
    assert len(incidents) == 3 and incidents[0]["resolved_at"] is None
    assert [i["started_at"] for i in incidents] == sorted((i["started_at"] for i in incidents), reverse=True)
    assert len(alerts.events()) == 11  # every transition POSTed once


def test_overlapping_evaluations_open_one_incident() -> None:
    """Two evaluations that both read the rule as ok (a slow run and the next minute's)."""
    db = SqliteDatabase("gateway")
    first, second = Alerts(db=YieldingDatabase(db)), Alerts(db=YieldingDatabase(db))

    async def both() -> None:
        await asyncio.gather(
            first.service.evaluate(FakeSignals(breakers=1), LOG), second.service.evaluate(FakeSignals(breakers=1), LOG)
        )

    run(both())
    assert len(first.report()["incidents"]) == 1


def test_every_threshold_and_window_is_a_variable() -> None:
    env = SimpleNamespace(
        ALERT_ERROR_RATE_PERCENT="5",
        ALERT_ERROR_RATE_WINDOW_MINUTES="1",
        ALERT_LATENCY_P95_MS="250.5",
        ALERT_LATENCY_WINDOW_MINUTES="10",
        ALERT_MIN_REQUESTS="50",
        ALERT_DEAD_LETTERS_MAX="2",
        ALERT_BREAKERS_OPEN_MAX="1",
        ALERT_INCIDENTS_KEPT="7",
    )
    assert alert_settings(env) == AlertSettings(5.0, 1, 250.5, 10, 50, 2.0, 1.0, 7)
    assert alert_settings(SimpleNamespace()) == AlertSettings()
    with pytest.raises(ConfigError, match="ALERT_MIN_REQUESTS must be a whole number"):
        alert_settings(SimpleNamespace(ALERT_MIN_REQUESTS="many"))
    with pytest.raises(ConfigError, match="ALERT_LATENCY_P95_MS must be a number"):
        alert_settings(SimpleNamespace(ALERT_LATENCY_P95_MS="1s"))
    with pytest.raises(ConfigError, match="ALERT_ERROR_RATE_WINDOW_MINUTES must be 1 to 1440 minutes"):
        alert_settings(SimpleNamespace(ALERT_ERROR_RATE_WINDOW_MINUTES="0"))
