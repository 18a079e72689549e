"""Webhook signing and delivery outcomes."""

import hashlib
import hmac
import json

import pytest

from shared.adapters.webhook import DeliveryFailed, WebhookNotifier, sign, verify
from tests.unit.test_orders_support import WebhookReceiver, run

EVENT = {"type": "order.created", "id": "evt_1", "order_id": "ord_1", "note": "crème brûlée"}


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":"evt_1"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, "s3cret") == f"sha256={expected}"
    # A known vector (RFC 4231 test case 2), so a receiver in any language can check against it.
    assert sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert verify(body, "s3cret", sign(body, "s3cret"))
    assert not verify(body + b" ", "s3cret", sign(body, "s3cret"))
    assert not verify(body, "other", sign(body, "s3cret"))


def test_the_signed_body_is_exactly_the_sent_body() -> None:
    async def scenario() -> None:
        receiver = WebhookReceiver()
        await WebhookNotifier("https://hook.test/x", "s3cret", receiver).notify(EVENT)
        [(url, body, headers)] = receiver.posts
        assert url == "https://hook.test/x" and json.loads(body) == EVENT and body.isascii()
        assert headers == {
            "Content-Type": "application/json",
            "X-Signature": sign(body.encode(), "s3cret"),
            "X-Event-Id": "evt_1",
        }

    run(scenario())


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (500, None, "HTTP 500"),
        (404, None, "HTTP 404"),
        (302, None, "HTTP 302"),
        (200, OSError("refused"), "unreachable (OSError)"),
    ],
)
def test_non_2xx_and_transport_errors_are_failed_deliveries(status, error, reason) -> None:
    async def scenario() -> None:
        receiver = WebhookReceiver(status)
        receiver.error = error
        with pytest.raises(DeliveryFailed, match=reason.replace("(", r"\(").replace(")", r"\)")):
            await WebhookNotifier("https://hook.test/x", "s3cret", receiver).notify(EVENT)

    run(scenario())


def test_a_slow_receiver_times_out() -> None:
    async def scenario() -> None:
        import asyncio

        async def hang(*_):
            await asyncio.sleep(5)
            return 200, ""

        with pytest.raises(DeliveryFailed, match="did not answer"):
            await WebhookNotifier("https://hook.test/x", "s3cret", hang, timeout_seconds=0.01).notify(EVENT)

    run(scenario())


def test_without_a_secret_nothing_is_sent() -> None:
    async def scenario() -> None:
        receiver = WebhookReceiver()
        with pytest.raises(DeliveryFailed, match="WEBHOOK_SECRET"):
            await WebhookNotifier("https://hook.test/x", "", receiver).notify(EVENT)
        assert receiver.posts == []

    run(scenario())
