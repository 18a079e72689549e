"""HS256 tokens: what verifies, and every way a token must fail."""

import base64
import json

import pytest

from gateway import jwt

POLICY = jwt.TokenPolicy(b"k" * 32, "edge-api", "edge-api-clients", leeway_seconds=30)
NOW = 1_800_000_000


def claims(**overrides):
    base = {
        "sub": "usr_1",
        "role": "user",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
        "iss": "edge-api",
        "aud": "edge-api-clients",
    }
    return {**base, **overrides}


def segment(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_round_trip():
    token = jwt.encode(claims(), POLICY.secret)
    assert jwt.decode(token, POLICY, NOW)["sub"] == "usr_1"


def test_audience_list_accepted():
    token = jwt.encode(claims(aud=["other", "edge-api-clients"]), POLICY.secret)
    assert jwt.decode(token, POLICY, NOW)["role"] == "user"


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"exp": NOW - 31},
        {"nbf": NOW + 31},
        {"exp": "soon"},
        {"sub": ""},
    ],
)
def test_bad_claims_rejected(overrides):
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(jwt.encode(claims(**overrides), POLICY.secret), POLICY, NOW)


def test_leeway_tolerates_small_skew():
    token = jwt.encode(claims(exp=NOW - 10, nbf=NOW + 10), POLICY.secret)
    assert jwt.decode(token, POLICY, NOW)


def test_wrong_secret_rejected():
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(jwt.encode(claims(), b"x" * 32), POLICY, NOW)


def test_alg_none_rejected():
    token = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(token, POLICY, NOW)


def test_alg_switch_rejected_even_with_valid_hs256_signature():
    good = jwt.encode(claims(), POLICY.secret)
    _, payload, signature = good.split(".")
    forged = f"{segment({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{signature}"
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(forged, POLICY, NOW)


def test_tampered_payload_rejected():
    header, _, signature = jwt.encode(claims(), POLICY.secret).split(".")
    forged = f"{header}.{segment(claims(role='admin'))}.{signature}"
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(forged, POLICY, NOW)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!!.###.$$$", f"{segment([1])}.{segment({})}.x"])
def test_garbage_rejected(token):
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(token, POLICY, NOW)
