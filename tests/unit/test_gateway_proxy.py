"""What the gateway passes on to a service (the allowlist, never a client's identity claims),
and what it hands back (the service's body as it came, unread, on a relayed route)."""

import asyncio

import pytest

from gateway.proxy import forward, outbound_headers
from shared.adapters import services
from shared.adapters.services import ServiceClient
from shared.http import HttpRequest, HttpResponse
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


class JsAnswer:
    """A service binding's JS Response, as far as the client reads it."""

    status = 201
    headers = (("content-type", "application/json"), ("x-internal-note", "not for clients"))
    body = object()  # its ReadableStream

    async def arrayBuffer(self):
        raise AssertionError("a relayed body must not be read into Python")


class Binding:
    async def fetch(self, url, options):
        return JsAnswer()


def test_a_relayed_answer_keeps_the_service_body_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "header_pairs", lambda response: list(response.headers))  # no JS in CPython
    client = ServiceClient("orders", Binding(), 1)
    request = HttpRequest("POST", "https://gw.example/api/orders", {}, b"{}", request_id="req-1")
    answer = asyncio.run(forward(client, request, Identity("u1", "user"), stream=True))
    assert answer.status == 201 and answer.stream is JsAnswer.body and answer.body == b""
    assert dict(answer.headers.pairs()) == {"content-type": "application/json"}


def test_a_read_answer_has_its_body(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bytes:
        def to_bytes(self) -> bytes:
            return b'{"id": "o1"}'

    class ReadAnswer(JsAnswer):
        async def arrayBuffer(self):
            return Bytes()

    class ReadBinding:
        async def fetch(self, url, options):
            return ReadAnswer()

    monkeypatch.setattr(services, "header_pairs", lambda response: list(response.headers))
    answer = asyncio.run(ServiceClient("orders", ReadBinding(), 1).request("GET", "/x", {}))
    assert isinstance(answer, HttpResponse) and answer.json() == {"id": "o1"} and answer.stream is None
