"""The alert rules' state in the gateway's D1 database (migrations/0001_alerts.sql).

D1 rather than KV: one evaluation reads what the previous one wrote, whichever location
the cron ran in, and KV may show another location's write a minute late (a transition
seen twice would be announced twice). The unique index on open incidents keeps two
overlapping evaluations from opening the same incident.
"""

from gateway.alerts import FIRING, PENDING, SENT, AlertStore, Changes, IncidentRecord, RuleReading
from shared.adapters.d1 import Database, Row, Statement

_INCIDENT = "id, rule, started_at, resolved_at, value, fired_delivery, resolved_delivery"


def _incident(row: Row) -> IncidentRecord:
    return IncidentRecord(
        id=row["id"],
        rule=row["rule"],
        started_at=row["started_at"],
        resolved_at=row["resolved_at"],
        value=float(row["value"]),
        fired_delivery=row["fired_delivery"],
        resolved_delivery=row["resolved_delivery"],
    )


class D1AlertStore(AlertStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open_incidents(self) -> dict[str, IncidentRecord]:
        rows = await self.db.all(f"SELECT {_INCIDENT} FROM alert_incidents WHERE resolved_at IS NULL")
        return {row["rule"]: _incident(row) for row in rows}

    async def readings(self) -> dict[str, RuleReading]:
        rows = await self.db.all("SELECT rule, value, since, evaluated_at FROM alert_rules")
        return {row["rule"]: RuleReading(row["rule"], row["value"], row["since"], row["evaluated_at"]) for row in rows}

    async def save(self, changes: Changes) -> None:
        statements: list[Statement] = [
            (
                "INSERT INTO alert_rules (rule, value, since, evaluated_at) VALUES (?, ?, ?, ?) ON CONFLICT (rule) "
                "DO UPDATE SET value = excluded.value, since = excluded.since, evaluated_at = excluded.evaluated_at",
                (reading.rule, reading.value, reading.since, reading.evaluated_at),
            )
            for reading in changes.readings
        ]
        statements += [
            (
                f"INSERT INTO alert_incidents ({_INCIDENT}) VALUES (?, ?, ?, NULL, ?, ?, NULL) ON CONFLICT DO NOTHING",
                (incident.id, incident.rule, incident.started_at, incident.value, incident.fired_delivery),
            )
            for incident in changes.opened
        ]
        statements += [
            (
                "UPDATE alert_incidents SET resolved_at = ?, resolved_delivery = ? "
                "WHERE rule = ? AND resolved_at IS NULL",
                (changes.at, changes.delivery, rule),
            )
            for rule in changes.resolved
        ]
        statements += [
            ("UPDATE alert_incidents SET value = ? WHERE rule = ? AND resolved_at IS NULL AND value < ?", (v, rule, v))
            for rule, v in changes.worse.items()
        ]
        await self.db.batch(statements)

    async def undelivered(self) -> list[IncidentRecord]:
        rows = await self.db.all(
            f"SELECT {_INCIDENT} FROM alert_incidents WHERE fired_delivery = ? OR resolved_delivery = ? "
            "ORDER BY started_at, id",
            PENDING,
            PENDING,
        )
        return [_incident(row) for row in rows]

    async def mark_sent(self, incident_id: str, transition: str) -> None:
        column = "fired_delivery" if transition == FIRING else "resolved_delivery"
        await self.db.run(
            f"UPDATE alert_incidents SET {column} = ? WHERE id = ? AND {column} = ?", SENT, incident_id, PENDING
        )

    async def prune(self, keep: int) -> int:
        return await self.db.run(
            "DELETE FROM alert_incidents WHERE resolved_at IS NOT NULL AND id NOT IN "
            "(SELECT id FROM alert_incidents ORDER BY started_at DESC, id DESC LIMIT ?)",
            keep,
        )

    async def recent(self, limit: int) -> list[IncidentRecord]:
        rows = await self.db.all(
            f"SELECT {_INCIDENT} FROM alert_incidents ORDER BY started_at DESC, id DESC LIMIT ?", limit
        )
        return [_incident(row) for row in rows]
