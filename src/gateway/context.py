"""What the gateway's handlers are given: built once per request by `gateway.app.build_app`."""

from dataclasses import dataclass

from gateway.alerts import AlertService
from gateway.auth import Authenticator
from gateway.breaker import GuardedService
from shared.adapters.analytics import AnalyticsSql
from shared.adapters.services import ServiceClient


@dataclass(frozen=True)
class GatewayContext:
    auth: Authenticator
    services: dict[str, GuardedService]  # "users", "orders": the service bindings, behind their breakers
    assets: ServiceClient  # the static assets binding (ASSETS), where the pages live
    alerts: AlertService  # the alert rules' state (D1), for GET /api/admin/alerts
    analytics: AnalyticsSql | None = None  # the Analytics Engine SQL API, when configured
