"""GET /api/admin/alerts: the alert rules, each one's state, and the recent incidents."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from contracts.users import Timestamp

RuleName = Literal["error_rate", "latency_p95", "dead_letters", "breaker_open"]


class AlertRule(BaseModel):
    name: Annotated[RuleName, Field(examples=["error_rate"])]
    description: str
    threshold: Annotated[float, Field(description="The rule fires while its value is above this")]
    window_minutes: Annotated[int, Field(description="Minutes of data the value covers; 0: a count taken now")]
    state: Literal["ok", "firing"]
    since: Annotated[Timestamp | None, Field(description="When the state began; null before the first evaluation")]
    value: Annotated[
        float | None,
        Field(description="The last evaluation's value; null when not evaluated, too little traffic or unreadable"),
    ]


class Incident(BaseModel):
    id: str
    rule: RuleName
    started_at: Timestamp
    resolved_at: Annotated[Timestamp | None, Field(description="null while the rule still fires")]
    value: Annotated[float, Field(description="The worst value seen while it fired")]


class AlertsReport(BaseModel):
    rules: list[AlertRule]
    incidents: Annotated[list[Incident], Field(description="The most recent incidents, newest first")]
    evaluated_at: Annotated[Timestamp | None, Field(description="The last evaluation; null before the first")]


class DeadLettersWaiting(BaseModel):
    """The orders worker's answer to the gateway's internal count (contracts.internal)."""

    waiting: int
