"""Signed webhook delivery: POST an event as JSON to a configured URL (the orders worker's
order events, the gateway's alerts).

Receivers check `X-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact raw body
under the shared secret, and drop duplicates by `X-Event-Id` (deliveries are at least
once). A non-2xx answer, a timeout or a transport error raises `DeliveryFailed`, so
the caller can retry the message. Every attempt carries the trace of the message it
delivers as a `traceparent` header (the body is the event alone, without it).
"""

import asyncio
import hashlib
import hmac
import json
from typing import Any, Protocol

from shared.adapters.fetch import Post, post
from shared.telemetry import awaited, count, trace_headers, without_trace

SIGNATURE_HEADER = "X-Signature"
EVENT_ID_HEADER = "X-Event-Id"
DEFAULT_TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The receiver did not accept the event; the message says why in words safe to show admins."""


class Notifier(Protocol):
    async def notify(self, event: dict[str, Any]) -> None:
        """Deliver one event or raise `DeliveryFailed`."""
        ...


def sign(body: bytes, secret: str) -> str:
    """The `X-Signature` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """What a receiver does (constant-time compare); here for tests and documentation."""
    return hmac.compare_digest(sign(body, secret), signature)


def encode_event(event: dict[str, Any]) -> str:
    """The raw body that is both signed and sent (ASCII JSON: its bytes are unambiguous)."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True)


class WebhookNotifier(Notifier):
    def __init__(
        self,
        url: str,
        secret: str,
        transport: Post = post,  # the receiver's answer is never read
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        secret_name: str = "WEBHOOK_SECRET",
    ) -> None:
        """`secret_name`: the setting `secret` comes from, named when it is missing."""
        self.url = url
        self._secret = secret
        self._transport = transport
        self._timeout = timeout_seconds
        self._secret_name = secret_name

    def request_for(self, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """The exact body and headers a delivery sends."""
        body = encode_event(without_trace(event))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body.encode(), self._secret),
            EVENT_ID_HEADER: str(event.get("id", "")),
            **trace_headers(),
        }
        return body, headers

    async def notify(self, event: dict[str, Any]) -> None:
        if not self._secret:
            raise DeliveryFailed(f"{self._secret_name} is not set; refusing to send an unsigned webhook")
        body, headers = self.request_for(event)
        try:
            count("subrequests")
            status, _ = await awaited(asyncio.wait_for(self._transport(self.url, body, headers), self._timeout))
        except TimeoutError:
            raise DeliveryFailed(f"webhook did not answer within {self._timeout:g} s") from None
        except Exception as error:
            raise DeliveryFailed(f"webhook unreachable ({type(error).__name__})") from error
        if not 200 <= status < 300:
            raise DeliveryFailed(f"webhook answered HTTP {status}")
