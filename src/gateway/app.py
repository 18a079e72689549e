"""The gateway's composition root: its env in, the app out (routes, context, middleware)."""

from typing import Any

from contracts.metrics import MAX_WINDOW_MINUTES
from gateway import handlers
from gateway.alert_signals import GatewaySignals
from gateway.alert_store import D1AlertStore
from gateway.alerts import AlertService, AlertSettings
from gateway.auth import PUBLIC, Authenticator
from gateway.breaker import BreakerPolicy, CircuitBreaker, GuardedService
from gateway.context import GatewayContext
from gateway.cors import CorsPolicy
from gateway.health import health
from gateway.jwt import TokenPolicy
from gateway.metrics import metrics
from gateway.middleware import Authenticate, BodyLimit, Cors, NoStore, RateLimit
from gateway.openapi import openapi
from gateway.pages import PAGE_CSPS, page
from gateway.ratelimit import WorkersRateLimiter
from gateway.routes import ROUTES
from gateway.traces import traces
from shared.adapters.analytics import CLOUDFLARE_API, AnalyticsSql, telemetry_for
from shared.adapters.d1 import D1
from shared.adapters.kv import WorkersKv
from shared.adapters.services import service_client
from shared.adapters.webhook import WebhookNotifier
from shared.app import WorkerApp
from shared.config import ConfigError, env_float, env_int, env_list, env_secret, env_str
from shared.http import Handler, Router
from shared.logging import Logger
from shared.metrics import DATASET

WORKER = "gateway"
SERVICES = ("users", "orders")
MIN_SECRET_CHARS = 32

_OWN_HANDLERS: dict[tuple[str, str], Handler[GatewayContext]] = {
    ("GET", "/health"): health,
    ("GET", "/openapi.json"): openapi,
    **{("GET", path): page(path, csp) for path, csp in PAGE_CSPS.items()},
    ("POST", "/api/auth/login"): handlers.login,
    ("POST", "/api/auth/refresh"): handlers.refresh,
    ("DELETE", "/api/users/{id}"): handlers.delete_user,
    ("GET", "/api/admin/maintenance-runs"): handlers.maintenance_runs,
    ("GET", "/api/admin/metrics"): metrics,
    ("GET", "/api/admin/alerts"): handlers.alerts,
    ("GET", "/api/admin/traces"): traces,
}


def build_router() -> Router[GatewayContext]:
    router: Router[GatewayContext] = Router()
    for route in ROUTES:
        handler = _OWN_HANDLERS.get((route.method, route.path)) or handlers.forwarding(route)
        router.add(route.method, route.path, handler)
    return router


# The routes cannot change at run time: built once per isolate, at import (in the snapshot).
ROUTER = build_router()
ACCESS = {(route.method, route.path): route.access for route in ROUTES}
PRIVATE_ROUTES = frozenset(route.path for route in ROUTES if route.access != PUBLIC) | {
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/auth/register",
}


def build_services(env: Any) -> dict[str, GuardedService]:
    """Each service binding as an HTTP client with its timeout, behind its circuit breaker."""
    store = WorkersKv(env.BREAKERS)
    policy = BreakerPolicy(
        threshold=env_int(env, "BREAKER_THRESHOLD", 5),
        window_seconds=env_int(env, "BREAKER_WINDOW_SECONDS", 60),
        cooldown_seconds=env_int(env, "BREAKER_COOLDOWN_SECONDS", 30),
        refresh_seconds=env_int(env, "BREAKER_REFRESH_SECONDS", 10),
    )
    return {
        name: GuardedService(service_client(env, name, getattr(env, name.upper())), CircuitBreaker(name, store, policy))
        for name in SERVICES
    }


def signing_secrets(env: Any) -> tuple[bytes, ...]:
    """JWT_SECRET (signs and verifies), then JWT_PREVIOUS_SECRETS (comma-separated: verify only).

    ConfigError when any is short: a weak old key would still open accounts.
    """
    current = env_secret(env, "JWT_SECRET", MIN_SECRET_CHARS)
    previous = env_list(env, "JWT_PREVIOUS_SECRETS")
    if any(len(secret) < MIN_SECRET_CHARS for secret in previous):
        raise ConfigError(f"every JWT_PREVIOUS_SECRETS entry must be at least {MIN_SECRET_CHARS} characters")
    return tuple(secret.encode() for secret in (current, *previous))


def build_analytics(env: Any) -> AnalyticsSql | None:
    """The SQL API of the account's Analytics Engine: its id and a read-only token are secrets
    (README, "Metrics"); without them /api/admin/metrics answers 503."""
    account, token = env_str(env, "ANALYTICS_ACCOUNT_ID").strip(), env_str(env, "ANALYTICS_API_TOKEN").strip()
    if not account or not token:
        return None
    dataset = env_str(env, "ANALYTICS_DATASET", DATASET).strip()
    return AnalyticsSql(account, token, dataset, env_str(env, "ANALYTICS_SQL_API", CLOUDFLARE_API))


def _minutes(env: Any, name: str, default: int) -> int:
    """A window the SQL API can query: 1 minute to a day, as GET /api/admin/metrics takes."""
    minutes = env_int(env, name, default)
    if not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise ConfigError(f"{name} must be 1 to {MAX_WINDOW_MINUTES} minutes, not {minutes}")
    return minutes


def alert_settings(env: Any) -> AlertSettings:
    """The alert rules' thresholds and windows (README, "Alerts"); each var has a default.
    ConfigError when one is not a number, or a window is out of range."""
    default = AlertSettings()
    return AlertSettings(
        error_rate_percent=env_float(env, "ALERT_ERROR_RATE_PERCENT", default.error_rate_percent),
        error_rate_window_minutes=_minutes(env, "ALERT_ERROR_RATE_WINDOW_MINUTES", default.error_rate_window_minutes),
        latency_p95_ms=env_float(env, "ALERT_LATENCY_P95_MS", default.latency_p95_ms),
        latency_window_minutes=_minutes(env, "ALERT_LATENCY_WINDOW_MINUTES", default.latency_window_minutes),
        min_requests=env_int(env, "ALERT_MIN_REQUESTS", default.min_requests),
        dead_letters_max=env_float(env, "ALERT_DEAD_LETTERS_MAX", default.dead_letters_max),
        breakers_open_max=env_float(env, "ALERT_BREAKERS_OPEN_MAX", default.breakers_open_max),
        incidents_kept=env_int(env, "ALERT_INCIDENTS_KEPT", default.incidents_kept),
    )


def build_alerts(env: Any) -> AlertService:
    """The rules over the gateway's D1 database; alerts are POSTed only when ALERT_WEBHOOK_URL is set."""
    url = env_str(env, "ALERT_WEBHOOK_URL").strip()
    secret = env_str(env, "ALERT_WEBHOOK_SECRET")
    notifier = WebhookNotifier(url, secret, secret_name="ALERT_WEBHOOK_SECRET") if url else None
    return AlertService(D1AlertStore(D1(env.DB)), alert_settings(env), notifier)


async def run_scheduled(env: Any, cron: str) -> None:
    """The cron trigger: one evaluation of the alert rules, in a trace and a data point of its own."""
    alerts, services = build_alerts(env), build_services(env)
    signals = GatewaySignals(
        build_analytics(env), services["orders"].client, [service.breaker for service in services.values()]
    )
    log = Logger(worker=WORKER).bind(job="alerts", cron=cron)
    await telemetry_for(env, WORKER).run(cron, lambda: alerts.evaluate(signals, log))


def build_app(env: Any) -> WorkerApp[GatewayContext]:
    """ConfigError (answered as a stamped 500) when JWT_SECRET is missing or short."""
    policy = TokenPolicy(  # once per isolate, with the app (shared.platform.app_for)
        signing_secrets(env),
        env_str(env, "JWT_ISSUER", "edge-api"),
        env_str(env, "JWT_AUDIENCE", "edge-api-clients"),
    )
    auth = Authenticator(policy, env_int(env, "JWT_TTL_SECONDS", 900))
    services = build_services(env)
    assets = service_client(env, "assets", env.ASSETS)
    middleware = (
        Cors(CorsPolicy(frozenset(env_list(env, "ALLOWED_ORIGINS"))), ROUTER),
        NoStore(PRIVATE_ROUTES),
        RateLimit(WorkersRateLimiter(env.RATE_LIMITER)),
        BodyLimit(env_int(env, "MAX_BODY_BYTES", 65_536)),
        Authenticate(auth, ACCESS),
    )
    context = GatewayContext(auth, services, assets, build_alerts(env), build_analytics(env))
    return WorkerApp(WORKER, ROUTER, context, middleware, telemetry_for(env, WORKER))
