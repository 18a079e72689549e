"""Forwarding a public request to a service over its binding.

Only an allowlist of client headers crosses: every identity header a client might
send (X-User-Id, X-User-Role, X-Internal-*) is dropped by construction, and the
gateway sets identity and request id from what it verified itself. Cloudflare's
version-override header crosses too: Cloudflare does not carry it through a service
binding by itself, and the deploy gate sends it so its smoke run reaches the new versions
of the services as well as the gateway's (it can only pick versions already deployed).
"""

from gateway.breaker import Service
from shared.adapters.services import ServiceError
from shared.errors import HttpProblem
from shared.http import Headers, HttpRequest, HttpResponse
from shared.identity import Identity

VERSION_OVERRIDES = "cloudflare-workers-version-overrides"
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "idempotency-key", VERSION_OVERRIDES)
RETURNED_RESPONSE_HEADERS = ("content-type", "x-cache", "idempotent-replayed", "retry-after", "location")


def outbound_headers(request: HttpRequest, identity: Identity | None) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    headers["x-request-id"] = request.request_id
    if identity is not None:
        headers.update(identity.as_headers())
    return headers


def public_path(request: HttpRequest) -> str:
    """Path and query as the client sent them."""
    query = request.url.split("?", 1)[1] if "?" in request.url else ""
    return request.path + (f"?{query}" if query else "")


async def forward(
    client: Service, request: HttpRequest, identity: Identity | None, *, stream: bool = False
) -> HttpResponse:
    """The service's answer to `request`, with the headers a client may see. `stream`: its
    body goes to the client as it came, never read by the gateway (a route the gateway
    only relays); without it the body is read, for a handler that looks inside."""
    try:
        answer = await client.request(
            request.method, public_path(request), outbound_headers(request, identity), request.body, stream=stream
        )
    except ServiceError as error:
        raise as_problem(error) from error
    headers = {name: answer.headers[name] for name in RETURNED_RESPONSE_HEADERS if name in answer.headers}
    if answer.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return HttpResponse(answer.status, answer.body, Headers(headers), answer.stream)


def as_problem(error: ServiceError) -> HttpProblem:
    headers = {"Retry-After": str(error.retry_after or 5)} if error.status == 503 else None
    return HttpProblem(error.status, error.detail, headers=headers)
