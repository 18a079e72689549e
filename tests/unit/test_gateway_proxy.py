"""What the gateway passes on to a service: the allowlist, never a client's identity claims."""

from gateway.proxy import outbound_headers
from shared.http import HttpRequest
from shared.identity import Identity

OVERRIDES = 'edge-users-staging="u-2", edge-gateway-staging="g-2"'


def test_identity_comes_from_the_gateway_and_the_version_overrides_cross() -> None:
    request = HttpRequest(
        "POST",
        "https://gw.example/api/orders",
        {
            "Content-Type": "application/json",
            "Idempotency-Key": "k1",
            "X-User-Id": "someone-else",
            "X-User-Role": "admin",
            "Cloudflare-Workers-Version-Overrides": OVERRIDES,
            "Cookie": "session=1",
        },
        request_id="req-1",
    )
    headers = outbound_headers(request, Identity("u1", "user"))
    assert headers["cloudflare-workers-version-overrides"] == OVERRIDES  # the deploy gate's smoke run
    assert headers["idempotency-key"] == "k1" and headers["x-request-id"] == "req-1"
    assert {name.lower(): value for name, value in headers.items()}["x-user-id"] == "u1"
    assert "cookie" not in {name.lower() for name in headers}
    assert "admin" not in headers.values()
