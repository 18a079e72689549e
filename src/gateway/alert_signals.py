"""Where the alert rules' values come from, behind `gateway.alerts.Signals`.

- traffic: the gateway's data points through the Analytics Engine SQL API (the query
  GET /api/admin/metrics runs, over the whole window; locally the runtime's SQL door);
- dead letters: the orders service's count, over its binding;
- breakers: the state each service's breaker keeps in KV, read afresh.

The service calls go past the breakers, as /health's probes do: an evaluation neither
needs a closed breaker nor moves one.
"""

import asyncio
from collections.abc import Sequence

from contracts.alerts import DeadLettersWaiting
from contracts.internal import DEAD_LETTERS_WAITING_PATH
from gateway.alerts import Signals, SignalUnavailable, Traffic
from gateway.breaker import CircuitBreaker
from gateway.metrics import number, traffic_query
from shared.adapters.analytics import AnalyticsSql, SqlApiError
from shared.adapters.services import ServiceClient, ServiceError


class GatewaySignals(Signals):
    """One evaluation's signals: each window's traffic is queried once, however many rules read it."""

    def __init__(
        self, analytics: AnalyticsSql | None, orders: ServiceClient, breakers: Sequence[CircuitBreaker]
    ) -> None:
        self._analytics = analytics
        self._orders = orders
        self._breakers = breakers
        self._traffic: dict[int, Traffic] = {}

    async def traffic(self, window_minutes: int) -> Traffic:
        if self._analytics is None:
            raise SignalUnavailable("metrics are not configured (ANALYTICS_ACCOUNT_ID, ANALYTICS_API_TOKEN)")
        if window_minutes not in self._traffic:
            try:
                rows = await self._analytics.query(traffic_query(window_minutes, self._analytics.dataset))
            except SqlApiError as error:
                raise SignalUnavailable(str(error)) from error
            row = rows[0] if rows else {}
            self._traffic[window_minutes] = Traffic(
                requests=int(number(row.get("requests"))),
                errors_5xx=int(number(row.get("errors"))),
                p95_ms=number(row.get("p95_ms")),
            )
        return self._traffic[window_minutes]

    async def dead_letters_waiting(self) -> int:
        try:
            answer = await self._orders.request("GET", DEAD_LETTERS_WAITING_PATH, {})
        except ServiceError as error:
            raise SignalUnavailable(str(error)) from error
        if answer.status != 200:
            raise SignalUnavailable(f"orders answered HTTP {answer.status} to the dead-letter count")
        return DeadLettersWaiting.model_validate_json(answer.body).waiting

    async def breakers_open(self) -> int:
        try:
            records = await asyncio.gather(*(breaker.record(fresh=True) for breaker in self._breakers))
        except Exception as error:  # KV failed: this rule keeps its state, the others still run
            raise SignalUnavailable(f"the breaker states could not be read ({type(error).__name__})") from error
        return sum(record.state != "closed" for record in records)
