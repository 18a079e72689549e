"""Alert rules: evaluated on the gateway's cron trigger; one signed POST when a rule starts
firing and one when it resolves, never one per evaluation (README, "Alerts").

Each evaluation reads every rule's value from its signal (`Signals`: the gateway's traffic
from Analytics Engine, the dead letters waiting in the orders service, the breakers in KV)
and compares it with the rule's threshold: above it the rule fires. A transition is an
incident (opened, or resolved), stored with the POST it owes. A signal that cannot be read
this time leaves its rule as it was (value null): a missing answer is neither an outage
nor a recovery. Too little traffic in the window to judge a rate or a percentile
(`min_requests`) counts as ok: one 500 among 3 requests is not a 33% outage worth a page.

Delivery: every transition's POST is recorded `pending` with its incident in the same
write, and marked `sent` once the receiver accepted it. A failed POST is retried at the
next evaluation (oldest first, stopping at the first failure, so a receiver sees `firing`
before `resolved`); one accepted is never sent again. Its event id (`<incident>.firing`,
`<incident>.resolved`) is the same on every attempt, so a receiver drops the duplicate of
the one case at-least-once delivery leaves: accepted, then the run died before marking it.
Without ALERT_WEBHOOK_URL, transitions are recorded `off`: incidents, no POST.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared import clock
from shared.adapters.webhook import DeliveryFailed, Notifier
from shared.logging import Logger

OK, FIRING, RESOLVED = "ok", "firing", "resolved"
PENDING, SENT, OFF = "pending", "sent", "off"


class SignalUnavailable(Exception):
    """A signal could not be read this time; the message says why in words safe to log."""


@dataclass(frozen=True)
class Traffic:
    """The gateway's requests in a window: what its clients saw."""

    requests: int
    errors_5xx: int
    p95_ms: float


class Signals(Protocol):
    """What the rules measure; each method raises `SignalUnavailable` when it cannot tell."""

    async def traffic(self, window_minutes: int) -> Traffic: ...

    async def dead_letters_waiting(self) -> int: ...

    async def breakers_open(self) -> int: ...


@dataclass(frozen=True)
class AlertSettings:
    """The rules' thresholds and windows; each is a variable (gateway.app.alert_settings)."""

    error_rate_percent: float = 2.0
    error_rate_window_minutes: int = 5
    latency_p95_ms: float = 1000.0
    latency_window_minutes: int = 5
    min_requests: int = 20  # fewer requests in a window: the traffic rules count as ok
    dead_letters_max: float = 0
    breakers_open_max: float = 0
    incidents_kept: int = 100


Measure = Callable[[Signals], Awaitable[float | None]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    threshold: float
    window_minutes: int  # 0: a count taken at evaluation time
    measure: Measure  # None: too little data to judge (ok)


def rules_for(settings: AlertSettings) -> tuple[Rule, ...]:
    """The four rules, in the order GET /api/admin/alerts lists them."""
    minimum = settings.min_requests

    async def error_rate(signals: Signals) -> float | None:
        traffic = await signals.traffic(settings.error_rate_window_minutes)
        return round(100 * traffic.errors_5xx / traffic.requests, 3) if traffic.requests >= minimum else None

    async def latency_p95(signals: Signals) -> float | None:
        traffic = await signals.traffic(settings.latency_window_minutes)
        return round(traffic.p95_ms, 2) if traffic.requests >= minimum else None

    async def dead_letters(signals: Signals) -> float | None:
        return float(await signals.dead_letters_waiting())

    async def breakers_open(signals: Signals) -> float | None:
        return float(await signals.breakers_open())

    return (
        Rule(
            "error_rate",
            f"Percent of the gateway's requests answered 5xx (judged from {minimum} requests in the window)",
            settings.error_rate_percent,
            settings.error_rate_window_minutes,
            error_rate,
        ),
        Rule(
            "latency_p95",
            f"95th percentile of the gateway's response time in ms (judged from {minimum} requests in the window)",
            settings.latency_p95_ms,
            settings.latency_window_minutes,
            latency_p95,
        ),
        Rule("dead_letters", "Dead letters waiting for an admin", settings.dead_letters_max, 0, dead_letters),
        Rule(
            "breaker_open",
            "Services whose circuit breaker is not closed (open, or half-open probing)",
            settings.breakers_open_max,
            0,
            breakers_open,
        ),
    )


@dataclass(frozen=True)
class IncidentRecord:
    id: str
    rule: str
    started_at: str
    resolved_at: str | None
    value: float
    fired_delivery: str  # PENDING, SENT or OFF
    resolved_delivery: str | None  # None while the incident is open

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "started_at": self.started_at,
            "resolved_at": self.resolved_at,
            "value": self.value,
        }

    def pending(self) -> list[str]:
        """The transitions whose POST is still owed, in the order they happened."""
        owed = [FIRING] if self.fired_delivery == PENDING else []
        return owed + ([RESOLVED] if self.resolved_delivery == PENDING else [])


@dataclass(frozen=True)
class RuleReading:
    """A rule's last evaluation: its value, since when its state holds, when it was taken."""

    rule: str
    value: float | None
    since: str
    evaluated_at: str


@dataclass
class Changes:
    """What one evaluation writes, all in one transaction."""

    readings: list[RuleReading]
    opened: list[IncidentRecord]
    resolved: list[str]  # rules whose open incident resolves
    worse: dict[str, float]  # rule -> a value worse than its open incident's
    at: str
    delivery: str  # how the transitions' POSTs start: PENDING, or OFF without a webhook


class AlertStore(Protocol):
    async def open_incidents(self) -> dict[str, IncidentRecord]:
        """The incident each firing rule has open, by rule."""
        ...

    async def readings(self) -> dict[str, RuleReading]: ...

    async def save(self, changes: Changes) -> None:
        """All of it or nothing; an incident for a rule that has one open already is not opened again."""
        ...

    async def undelivered(self) -> list[IncidentRecord]:
        """Incidents that still owe a POST, oldest first."""
        ...

    async def mark_sent(self, incident_id: str, transition: str) -> None: ...

    async def prune(self, keep: int) -> int:
        """Forget resolved incidents beyond the newest `keep`; how many went."""
        ...

    async def recent(self, limit: int) -> list[IncidentRecord]:
        """Newest first."""
        ...


@dataclass(frozen=True)
class Evaluation:
    values: dict[str, float | None]
    firing: list[str]
    opened: list[str]
    resolved: list[str]
    delivered: int


class AlertService:
    def __init__(
        self,
        store: AlertStore,
        settings: AlertSettings,
        notifier: Notifier | None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        """`notifier`: where alerts are POSTed; None when ALERT_WEBHOOK_URL is unset."""
        self.store = store
        self.settings = settings
        self.rules = rules_for(settings)
        self.notifier = notifier
        self._now = now

    async def evaluate(self, signals: Signals, log: Logger) -> Evaluation:
        """One evaluation of every rule, its transitions recorded, the POSTs owed sent."""
        now = clock.iso(self._now())
        incidents, previous = await asyncio.gather(self.store.open_incidents(), self.store.readings())
        changes = Changes([], [], [], {}, now, OFF if self.notifier is None else PENDING)
        values: dict[str, float | None] = {}
        for rule in self.rules:
            values[rule.name] = await self._judge(rule, signals, incidents, previous.get(rule.name), changes, log)
        await self.store.save(changes)
        delivered = await self._deliver(log)
        pruned = await self.store.prune(self.settings.incidents_kept)
        opened = [incident.rule for incident in changes.opened]
        firing = [rule for rule in values if rule in opened or (rule in incidents and rule not in changes.resolved)]
        evaluation = Evaluation(values, firing, opened, changes.resolved, delivered)
        log.info(
            "alert rules evaluated",
            values=values,
            firing=evaluation.firing,
            delivered=delivered,
            incidents_pruned=pruned,
        )
        return evaluation

    async def _judge(
        self,
        rule: Rule,
        signals: Signals,
        incidents: Mapping[str, IncidentRecord],
        previous: RuleReading | None,
        changes: Changes,
        log: Logger,
    ) -> float | None:
        """Measure one rule and add its transition, if any, to `changes`; its value."""
        since = previous.since if previous else changes.at
        try:
            value = await rule.measure(signals)
        except SignalUnavailable as error:
            log.warning("alert rule not evaluated; its state stands", rule=rule.name, reason=str(error))
            changes.readings.append(RuleReading(rule.name, None, since, changes.at))
            return None
        open_incident = incidents.get(rule.name)
        if value is not None and value > rule.threshold:
            if open_incident is None:
                incident_id = clock.new_id("inc")
                changes.opened.append(
                    IncidentRecord(incident_id, rule.name, changes.at, None, value, changes.delivery, None)
                )
                since = changes.at
                log.warning("alert firing", rule=rule.name, value=value, threshold=rule.threshold, incident=incident_id)
            elif value > open_incident.value:
                changes.worse[rule.name] = value
        elif open_incident is not None:
            changes.resolved.append(rule.name)
            since = changes.at
            log.info("alert resolved", rule=rule.name, value=value, incident=open_incident.id)
        changes.readings.append(RuleReading(rule.name, value, since, changes.at))
        return value

    async def _deliver(self, log: Logger) -> int:
        """POST what is owed, oldest first; the first failure waits for the next evaluation."""
        if self.notifier is None:
            return 0
        delivered = 0
        for incident in await self.store.undelivered():
            for transition in incident.pending():
                try:
                    await self.notifier.notify(self._event(incident, transition))
                except DeliveryFailed as error:
                    log.warning(
                        "alert delivery failed; retried at the next evaluation",
                        incident=incident.id,
                        transition=transition,
                        reason=str(error),
                    )
                    return delivered
                await self.store.mark_sent(incident.id, transition)
                delivered += 1
                log.info("alert delivered", incident=incident.id, rule=incident.rule, transition=transition)
        return delivered

    def _event(self, incident: IncidentRecord, transition: str) -> dict[str, Any]:
        """The alert's body: the same event id on every attempt."""
        rule = next(rule for rule in self.rules if rule.name == incident.rule)
        return {
            "id": f"{incident.id}.{transition}",
            "type": f"alert.{transition}",
            "rule": rule.name,
            "description": rule.description,
            "threshold": rule.threshold,
            "window_minutes": rule.window_minutes,
            "value": incident.value,
            "incident_id": incident.id,
            "started_at": incident.started_at,
            "resolved_at": incident.resolved_at,
        }

    async def report(self) -> dict[str, Any]:
        """GET /api/admin/alerts: each rule's state, and the incidents kept, newest first."""
        readings, incidents = await asyncio.gather(self.store.readings(), self.store.open_incidents())
        rules = []
        for rule in self.rules:
            reading = readings.get(rule.name)
            rules.append(
                {
                    "name": rule.name,
                    "description": rule.description,
                    "threshold": rule.threshold,
                    "window_minutes": rule.window_minutes,
                    "state": FIRING if rule.name in incidents else OK,
                    "since": reading.since if reading else None,
                    "value": reading.value if reading else None,
                }
            )
        recent = await self.store.recent(self.settings.incidents_kept)
        evaluated = [reading.evaluated_at for reading in readings.values()]
        return {
            "rules": rules,
            "incidents": [incident.public() for incident in recent],
            "evaluated_at": max(evaluated) if evaluated else None,
        }
