"""Key rotation as the gateway is configured: JWT_SECRET signs, JWT_PREVIOUS_SECRETS verify,
and a key taken out of the settings opens nothing any more. Built from an env the way the
runtime builds it (`gateway.app.build_app`)."""

import time
from types import SimpleNamespace

import pytest

from gateway import jwt
from gateway.app import build_app
from shared.config import ConfigError
from shared.errors import Unauthenticated
from shared.http import HttpRequest
from tests.unit.memory_kv import FakeKvBinding

OLD = "old-signing-key-0123456789abcdefghijklmnop"
NEW = "new-signing-key-0123456789abcdefghijklmnop"


def gateway(secret: str, previous: str = "", ttl: str = "") -> object:
    env = SimpleNamespace(
        JWT_SECRET=secret,
        JWT_PREVIOUS_SECRETS=previous,
        JWT_TTL_SECONDS=ttl,
        BREAKERS=FakeKvBinding(),
        USERS=object(),
        ORDERS=object(),
        RATE_LIMITER=object(),
        ASSETS=object(),
        DB=object(),
    )
    return build_app(env).context.auth


def identify(auth, token: str):
    request = HttpRequest("GET", "https://api.invalid/api/users/me", {"authorization": f"Bearer {token}"}, b"", "r")
    return auth.identify(request)


def test_rotation_in_order_logs_nobody_out_and_removal_ends_old_tokens() -> None:
    before = gateway(OLD)
    old_token = before.issue("usr_1", "user", "ses_1")

    during = gateway(NEW, previous=OLD)  # step 1: new key signs, old key still verifies
    assert identify(during, old_token).session_id == "ses_1"
    new_token = during.issue("usr_1", "user", "ses_1")
    assert jwt._json_segment(new_token.split(".")[0])["kid"] == jwt.key_id(NEW.encode())

    after = gateway(NEW)  # step 2, one access-token lifetime later: the old key is removed
    assert identify(after, new_token).user_id == "usr_1"
    with pytest.raises(Unauthenticated):
        identify(after, old_token)


def test_each_keys_id_is_derived_once_when_the_gateway_is_built(monkeypatch) -> None:
    """A `kid` is an HMAC: worked out per key with the policy, not again for every token issued."""
    derive, derived = jwt.key_id, []
    monkeypatch.setattr(jwt, "key_id", lambda secret: derived.append(secret) or derive(secret))
    auth = gateway(NEW, previous=OLD)
    tokens = [auth.issue("usr_1", "user", f"ses_{n}") for n in range(3)]
    assert sorted(derived) == sorted([NEW.encode(), OLD.encode()])
    assert {jwt._json_segment(token.split(".")[0])["kid"] for token in tokens} == {derive(NEW.encode())}
    assert [identify(gateway(NEW), token).session_id for token in tokens] == ["ses_0", "ses_1", "ses_2"]


def test_access_tokens_last_jwt_ttl_seconds_900_by_default() -> None:
    auth = gateway(NEW)
    claims = jwt._json_segment(auth.issue("usr_1", "user").split(".")[1])
    assert auth.ttl_seconds == 900 and claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 5


@pytest.mark.parametrize("previous", ["short", f"{OLD},short"])
def test_every_previous_key_must_be_as_strong_as_the_current_one(previous: str) -> None:
    with pytest.raises(ConfigError, match="JWT_PREVIOUS_SECRETS"):
        gateway(NEW, previous=previous)


def test_blank_entries_of_previous_keys_are_dropped() -> None:
    assert len(gateway(NEW, previous=f" {OLD}, ,").policy.keys) == 2
