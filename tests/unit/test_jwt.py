"""HS256 tokens: what verifies, and every way a token must fail."""

import base64
import json

import pytest

from gateway import jwt

POLICY = jwt.TokenPolicy((b"k" * 32,), "edge-api", "edge-api-clients", leeway_seconds=30)
OLD_KEY, NEW_KEY = b"o" * 32, b"n" * 32
NOW = 1_800_000_000


def signing_with(key: bytes) -> jwt.TokenPolicy:
    return jwt.TokenPolicy((key,), "edge-api", "edge-api-clients")


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
    token = jwt.encode(claims(), POLICY)
    assert jwt.decode(token, POLICY, NOW)["sub"] == "usr_1"


def test_audience_list_accepted():
    token = jwt.encode(claims(aud=["other", "edge-api-clients"]), POLICY)
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
        jwt.decode(jwt.encode(claims(**overrides), POLICY), POLICY, NOW)


def test_leeway_tolerates_small_skew():
    token = jwt.encode(claims(exp=NOW - 10, nbf=NOW + 10), POLICY)
    assert jwt.decode(token, POLICY, NOW)


def test_wrong_secret_rejected():
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(jwt.encode(claims(), signing_with(b"x" * 32)), POLICY, NOW)


def test_alg_none_rejected():
    token = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(token, POLICY, NOW)


def test_alg_switch_rejected_even_with_valid_hs256_signature():
    good = jwt.encode(claims(), POLICY)
    _, payload, signature = good.split(".")
    forged = f"{segment({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{signature}"
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(forged, POLICY, NOW)


def test_tampered_payload_rejected():
    header, _, signature = jwt.encode(claims(), POLICY).split(".")
    forged = f"{header}.{segment(claims(role='admin'))}.{signature}"
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(forged, POLICY, NOW)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!!.###.$$$", f"{segment([1])}.{segment({})}.x"])
def test_garbage_rejected(token):
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(token, POLICY, NOW)


def header_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def test_tokens_name_their_key_by_a_kid_that_is_not_the_key():
    header = header_of(jwt.encode(claims(), POLICY))
    assert header["kid"] == jwt.key_id(POLICY.secret)
    assert header["kid"] != jwt.key_id(b"x" * 32)
    assert POLICY.secret.decode() not in header["kid"]
    assert base64.urlsafe_b64encode(POLICY.secret).decode().rstrip("=") not in header["kid"]


def test_previous_keys_verify_and_the_current_one_signs():
    rotated = jwt.TokenPolicy((NEW_KEY, OLD_KEY), "edge-api", "edge-api-clients")
    old_token = jwt.encode(claims(), signing_with(OLD_KEY))
    assert jwt.decode(old_token, rotated, NOW)["sub"] == "usr_1"
    assert rotated.secret == NEW_KEY
    retired = jwt.TokenPolicy((NEW_KEY,), "edge-api", "edge-api-clients")
    with pytest.raises(jwt.InvalidToken, match="unknown key"):
        jwt.decode(old_token, retired, NOW)


@pytest.mark.parametrize("kid", [None, "", "forged-kid", 7, ["a"]])
def test_a_missing_or_unknown_kid_is_refused_before_any_signature(kid):
    head = {"alg": "HS256", "typ": "JWT"} | ({} if kid is None else {"kid": kid})
    signing_input = f"{segment(head)}.{segment(claims())}"
    signature = base64.urlsafe_b64encode(jwt._sign(signing_input.encode(), POLICY.secret)).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidToken):
        jwt.decode(f"{signing_input}.{signature}", POLICY, NOW)


def test_a_known_kid_with_another_keys_signature_is_refused():
    rotated = jwt.TokenPolicy((NEW_KEY, OLD_KEY), "edge-api", "edge-api-clients")
    header, payload, _ = jwt.encode(claims(), signing_with(OLD_KEY)).split(".")
    _, _, other = jwt.encode(claims(), signing_with(NEW_KEY)).split(".")
    with pytest.raises(jwt.InvalidToken, match="bad signature"):
        jwt.decode(f"{header}.{payload}.{other}", rotated, NOW)


def test_a_policy_needs_a_key():
    with pytest.raises(ValueError):
        jwt.TokenPolicy((), "edge-api", "edge-api-clients")
