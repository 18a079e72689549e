"""The public API as data: one `Route` per contract row, documented where it is declared.

The same table drives routing, authentication, body validation, forwarding and
the OpenAPI document, so they cannot drift apart. Each route carries what clients
and linters need from the document (a unique camelCase `operation_id`, which
generated clients name their functions after, a `description` and a `tag` from
`TAGS`): a route added without them is a TypeError, and
tests/unit/test_openapi_document.py checks their form and uniqueness.
"""

from dataclasses import KW_ONLY, dataclass, field

from pydantic import BaseModel

from contracts.alerts import AlertsReport
from contracts.erasures import Erasure
from contracts.maintenance import MaintenanceRunPage
from contracts.metrics import MetricsQuery, MetricsReport
from contracts.orders import (
    CreateOrderRequest,
    DeadLetterPage,
    ListDeadLettersQuery,
    ListOrdersQuery,
    Order,
    OrderPage,
    ReplayAccepted,
)
from contracts.traces import TracePage, TracesQuery
from contracts.users import (
    ChangePasswordRequest,
    ListUsersQuery,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UpdateUserRequest,
    User,
    UserPage,
)
from gateway.auth import ADMIN_ONLY, PUBLIC, SIGNED_IN

JSON = "application/json"
HTML = "text/html"

# The OpenAPI document's tags, in the order a reader meets them: every route names one.
TAGS: dict[str, str] = {
    "auth": "Create an account, exchange its credentials for tokens, refresh them, and end sessions.",
    "users": "Read, rename and delete accounts: your own, or any as an admin.",
    "orders": "Place orders (safely retried with an Idempotency-Key), list, read and cancel them.",
    "admin": (
        "Operations for admins: dead letters and replay, maintenance runs, account erasures, metrics, alerts "
        "and traces."
    ),
    "system": "The gateway's health, this document, its interactive reference and the operations dashboard.",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    access: str = PUBLIC
    service: str | None = None  # forwarded verbatim to this service; None: the gateway answers
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = field(default_factory=tuple)
    idempotent: bool = False  # takes an Idempotency-Key header
    media_type: str = JSON  # of the success answer
    headers: tuple[str, ...] = ()  # what the success answer carries besides X-Request-ID (gateway/openapi.py HEADERS)
    # Error statuses answered with the success answer's shape, not a problem (GET /health's 503).
    success_shaped: tuple[int, ...] = ()
    _: KW_ONLY
    # camelCase, verb first (createOrder): a generated client's function name. HEAD, documented
    # wherever GET is, takes this id with its verb replaced by "head" (getOrder -> headOrder).
    operation_id: str
    description: str  # what a reader of the reference needs beyond the summary
    tag: str  # a key of TAGS


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/health",
        "Health of the gateway and both services, and the runtime it runs on",
        errors=(503,),
        success_shaped=(503,),
        operation_id="getHealth",
        description=(
            "Asks each service over its binding and reports its answer beside its circuit breaker's state, "
            "and names the Python, platform and Pyodide release the gateway runs on. 503 with "
            '`"status": "degraded"` when a service is down.'
        ),
        tag="system",
    ),
    Route(
        "GET",
        "/openapi.json",
        "This OpenAPI 3.1 document",
        operation_id="getOpenApiDocument",
        description=(
            "Generated from the route table and the same pydantic models that validate requests; "
            "`servers` names the origin it was fetched from."
        ),
        tag="system",
    ),
    Route(
        "GET",
        "/docs",
        "The interactive API reference (an HTML page)",
        media_type=HTML,
        operation_id="getApiReference",
        description=(
            "This document rendered by Swagger UI, served from the gateway's own origin (no CDN); "
            "its scripts and styles are static assets under `/docs/`."
        ),
        tag="system",
    ),
    Route(
        "GET",
        "/admin/",
        "The operations dashboard (an HTML page)",
        media_type=HTML,
        operation_id="getAdminDashboard",
        description=(
            "Traffic, errors, latency, CPU and cost per route over time, breaker states, dead letters (with "
            "replay), maintenance runs, alerts and recent traces, from the admin routes of this API. The page "
            "itself is public; it signs in with `POST /api/auth/login` and keeps the token in memory only. "
            "Served from the gateway's own origin (no CDN); its scripts and styles are static assets under "
            "`/admin/`."
        ),
        tag="system",
    ),
    Route(
        "POST",
        "/api/auth/register",
        "Create an account",
        service="users",
        body=RegisterRequest,
        response=User,
        status=201,
        errors=(409,),
        operation_id="registerUser",
        description=(
            "The email is stored in lower case and must be new (409 otherwise). Emails listed in the "
            "users worker's `ADMIN_EMAILS` get role `admin`; everyone else `user`."
        ),
        tag="auth",
    ),
    Route(
        "POST",
        "/api/auth/login",
        "Exchange credentials for an access token and a refresh token",
        body=LoginRequest,
        response=TokenResponse,
        errors=(401,),
        operation_id="login",
        description=(
            "Answers a short-lived HS256 JWT (`expires_in`, 900 s by default) to send as "
            "`Authorization: Bearer <token>`, and an opaque refresh token for `POST /api/auth/refresh`; "
            "each login opens a session. A wrong password and an unknown email get the same 401. After 5 "
            "failed logins for one email within 15 minutes, that email's logins answer 429 with "
            "`Retry-After`, from any address, for a time that doubles with each further failure (at most "
            "an hour); a success resets it."
        ),
        tag="auth",
    ),
    Route(
        "POST",
        "/api/auth/refresh",
        "Spend a refresh token for a new pair",
        body=RefreshRequest,
        response=TokenResponse,
        errors=(401,),
        operation_id="refreshTokens",
        description=(
            "Answers as login does, with a new access token and a new refresh token; the one sent is spent. "
            "A spent, revoked, expired or unknown refresh token is 401, and a spent one presented again "
            "also ends its whole session (every token descended from that login)."
        ),
        tag="auth",
    ),
    Route(
        "POST",
        "/api/auth/logout",
        "End a session, or every session",
        SIGNED_IN,
        "users",
        body=LogoutRequest,
        status=204,
        operation_id="logout",
        description=(
            '`{"refresh_token": ...}` ends the session that token belongs to (if it is the caller\'s); '
            '`{"all": true}` ends every session of the account. Their refresh tokens are refused at once; '
            "access tokens already issued run out within `expires_in`."
        ),
        tag="auth",
    ),
    Route(
        "GET",
        "/api/users/me",
        "The caller's account",
        SIGNED_IN,
        "users",
        response=User,
        errors=(404,),
        operation_id="getCurrentUser",
        description="404 once the account is deleted, even while the caller's token is still valid.",
        tag="users",
    ),
    Route(
        "POST",
        "/api/users/me/password",
        "Change the caller's password",
        SIGNED_IN,
        "users",
        body=ChangePasswordRequest,
        status=204,
        errors=(404,),
        operation_id="changePassword",
        description=(
            "Needs the current password (403 when wrong; repeated wrong ones lock the account's logins as "
            "failed logins do, 429). The new one follows the registration rules (422). Every other session "
            "ends; the caller's goes on."
        ),
        tag="users",
    ),
    Route(
        "GET",
        "/api/users",
        "All accounts, paginated",
        ADMIN_ONLY,
        "users",
        query=ListUsersQuery,
        response=UserPage,
        operation_id="listUsers",
        description="Admins only. Newest first; pass `next_cursor` back as `?cursor=` for the next page.",
        tag="users",
    ),
    Route(
        "GET",
        "/api/users/{id}",
        "One account",
        SIGNED_IN,
        "users",
        response=User,
        errors=(404,),
        headers=("X-Cache",),
        operation_id="getUser",
        description=(
            "Your own account, or any as an admin; others are 404, never 403, so ids leak nothing. "
            "Served from a KV cache: `X-Cache` tells `HIT` or `MISS`."
        ),
        tag="users",
    ),
    Route(
        "PATCH",
        "/api/users/{id}",
        "Rename an account",
        SIGNED_IN,
        "users",
        body=UpdateUserRequest,
        response=User,
        errors=(404,),
        operation_id="updateUser",
        description="Your own account, or any as an admin. The cached copy is invalidated at once.",
        tag="users",
    ),
    Route(
        "DELETE",
        "/api/users/{id}",
        "Soft-delete an account",
        SIGNED_IN,
        "users",
        status=204,
        errors=(404,),
        operation_id="deleteUser",
        description=(
            "Your own account, or any as an admin. From this answer on the account can neither log in nor "
            "be read, all its sessions have ended, and no order is created for it, whatever tokens it still "
            "holds. It starts the account's erasure (one workflow per account, `GET /api/admin/erasures/{user_id}`): "
            "its open orders are cancelled, and after the retention period the account is purged and its "
            "orders keep no personal data. A second DELETE is 404 and starts nothing."
        ),
        tag="users",
    ),
    Route(
        "POST",
        "/api/orders",
        "Place an order",
        SIGNED_IN,
        "orders",
        body=CreateOrderRequest,
        response=Order,
        status=201,
        errors=(409, 422),
        idempotent=True,
        headers=("Idempotent-Replayed",),
        operation_id="createOrder",
        description=(
            "The order starts `pending`; a queue consumer confirms it. With an `Idempotency-Key`, the same "
            "key and body answer the first response again with `Idempotent-Replayed: true`; the same key "
            "with another body is 422, and while the first request is still in flight 409."
        ),
        tag="orders",
    ),
    Route(
        "GET",
        "/api/orders",
        "The caller's orders, newest first",
        SIGNED_IN,
        "orders",
        query=ListOrdersQuery,
        response=OrderPage,
        errors=(403,),
        operation_id="listOrders",
        description=(
            "Admins see everyone's and may filter by `user_id`. Filter by `status`; pass `next_cursor` "
            "back as `?cursor=` for the next page."
        ),
        tag="orders",
    ),
    Route(
        "GET",
        "/api/orders/{id}",
        "One order",
        SIGNED_IN,
        "orders",
        response=Order,
        errors=(404,),
        operation_id="getOrder",
        description="The owner's, or any as an admin; others are 404.",
        tag="orders",
    ),
    Route(
        "POST",
        "/api/orders/{id}/cancel",
        "Cancel an order",
        SIGNED_IN,
        "orders",
        response=Order,
        errors=(404, 409),
        operation_id="cancelOrder",
        description="A `pending` or `confirmed` order becomes `cancelled`; any other status is 409.",
        tag="orders",
    ),
    Route(
        "GET",
        "/api/admin/dead-letters",
        "Messages that exhausted their retries",
        ADMIN_ONLY,
        "orders",
        query=ListDeadLettersQuery,
        response=DeadLetterPage,
        operation_id="listDeadLetters",
        description="Queue messages the consumers gave up on, with their attempts and last error, for replay.",
        tag="admin",
    ),
    Route(
        "POST",
        "/api/admin/dead-letters/{id}/replay",
        "Put a dead letter back on its queue",
        ADMIN_ONLY,
        "orders",
        response=ReplayAccepted,
        status=202,
        errors=(404, 409),
        operation_id="replayDeadLetter",
        description="The message goes back on the queue it came from; its consumer applies it at most once.",
        tag="admin",
    ),
    Route(
        "GET",
        "/api/admin/maintenance-runs",
        "Scheduled maintenance run summaries, newest first",
        ADMIN_ONLY,
        response=MaintenanceRunPage,
        operation_id="listMaintenanceRuns",
        description="Both services' cron jobs: when each ran, what it handled and what failed.",
        tag="admin",
    ),
    Route(
        "GET",
        "/api/admin/erasures/{user_id}",
        "A deleted account's erasure workflow",
        ADMIN_ONLY,
        "users",
        response=Erasure,
        errors=(404,),
        operation_id="getErasure",
        description=(
            "The erasure a `DELETE /api/users/{id}` started: its status (`running`, `waiting` out the "
            "retention period, `complete` or `errored`, with the error), and each step with its attempts "
            "and times. An account that was never deleted is 404."
        ),
        tag="admin",
    ),
    Route(
        "GET",
        "/api/admin/metrics",
        "Requests, errors, latency, CPU, billable units and cost per worker and route, from the data points",
        ADMIN_ONLY,
        query=MetricsQuery,
        response=MetricsReport,
        errors=(503,),
        operation_id="getMetrics",
        description=(
            "Sums the Analytics Engine data points of the last `window` minutes (one per request, queue message "
            "and scheduled run, per worker) through the SQL API: requests, 4xx, 5xx, latency and CPU percentiles, "
            "billable units per request and the estimated cost, plus the gateway's requests, errors and p95 per "
            "minute. 503 when the SQL API is not configured or does not answer."
        ),
        tag="admin",
    ),
    Route(
        "GET",
        "/api/admin/alerts",
        "The alert rules, each one's state, and the recent incidents",
        ADMIN_ONLY,
        response=AlertsReport,
        operation_id="getAlerts",
        description=(
            "The gateway evaluates its alert rules every minute (a cron trigger): 5xx rate and p95 latency of its "
            "requests over a window, dead letters waiting, breakers not closed. Each rule shows its threshold, its "
            "last value, its state (`ok` or `firing`) and since when; incidents are listed newest first. A rule "
            "that starts firing POSTs one signed alert to `ALERT_WEBHOOK_URL`, and one more when it resolves."
        ),
        tag="admin",
    ),
    Route(
        "GET",
        "/api/admin/traces",
        "The recent traces: each one's route, status and time per worker, from the data points",
        ADMIN_ONLY,
        query=TracesQuery,
        response=TracePage,
        errors=(503,),
        operation_id="listTraces",
        description=(
            "The traces that started in the last `window` minutes, newest first (at most `limit`), put together "
            "from the Analytics Engine data points that carry their W3C trace id: one span per unit of work per "
            "worker (requests, queue messages, scheduled runs), and the wall time per worker. 503 when the SQL "
            "API is not configured or does not answer."
        ),
        tag="admin",
    ),
)
