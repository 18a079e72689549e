"""HS256 JSON Web Tokens (RFC 7519), signed and verified by the gateway alone.

Only HS256 is accepted: the algorithm is pinned, never read from the token to pick
a verifier, so `alg: none` and key-confusion tricks fail like any bad signature.
The stdlib's C HMAC is fast in Pyodide, so no crypto dependency is needed.

Keys rotate: every token names its key in the header's `kid`, an HMAC of a fixed label
under the key (it identifies the key and reveals nothing a signature does not), derived
once per key when the policy is built. The first key of a policy signs; every key of it
verifies the tokens that name it. A `kid` the policy does not hold is refused before any
signature is computed.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from shared.http import encode_json

ALGORITHM = "HS256"
_KID_LABEL = b"edge-api jwt key id v1"
_KID_BYTES = 12


class InvalidToken(Exception):
    """The token is malformed, forged, expired, not yet valid, or not for us."""


def key_id(secret: bytes) -> str:
    """The `kid` of a key: derived from it, so configs name keys once, and never the key itself."""
    return _b64encode(hmac.new(secret, _KID_LABEL, hashlib.sha256).digest()[:_KID_BYTES])


@dataclass(frozen=True)
class TokenPolicy:
    """`secrets[0]` signs (JWT_SECRET); all of them verify (it and JWT_PREVIOUS_SECRETS).

    Built once per isolate, so each key's `kid` (an HMAC), and the signing key's encoded
    token header that names it, are derived here and not per token."""

    secrets: tuple[bytes, ...]
    issuer: str
    audience: str
    leeway_seconds: int = 30
    keys: dict[str, bytes] = field(init=False, repr=False, compare=False)
    header: str = field(init=False, repr=False, compare=False)  # every token's first segment

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("a token policy needs a signing key")
        kids = [key_id(secret) for secret in self.secrets]
        object.__setattr__(self, "keys", dict(zip(kids, self.secrets, strict=True)))
        head = {"alg": ALGORITHM, "typ": "JWT", "kid": kids[0]}
        object.__setattr__(self, "header", _b64encode(encode_json(head).encode()))

    @property
    def secret(self) -> bytes:
        """The signing key."""
        return self.secrets[0]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise InvalidToken("bad base64") from None


def _sign(signing_input: bytes, secret: bytes) -> bytes:
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


def encode(claims: dict[str, Any], policy: TokenPolicy) -> str:
    """A token signed with the policy's signing key, naming it by its `kid`."""
    header = policy.header
    payload = _b64encode(encode_json(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{_b64encode(_sign(signing_input, policy.secret))}"


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment))
    except ValueError:
        raise InvalidToken("bad JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("not an object")
    return value


def decode(token: str, policy: TokenPolicy, now: int) -> dict[str, Any]:
    """The verified claims, or `InvalidToken`."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWS compact token")
    header, claims = _json_segment(parts[0]), _json_segment(parts[1])
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm not allowed")
    kid = header.get("kid")
    secret = policy.keys.get(kid) if isinstance(kid, str) else None
    if secret is None:
        raise InvalidToken("unknown key")
    expected = _sign(f"{parts[0]}.{parts[1]}".encode(), secret)
    if not hmac.compare_digest(expected, _b64decode(parts[2])):
        raise InvalidToken("bad signature")
    _check_claims(claims, policy, now)
    return claims


def _check_claims(claims: dict[str, Any], policy: TokenPolicy, now: int) -> None:
    if claims.get("iss") != policy.issuer:
        raise InvalidToken("wrong issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if policy.audience not in audiences:
        raise InvalidToken("wrong audience")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or exp <= now - policy.leeway_seconds:
        raise InvalidToken("expired")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now + policy.leeway_seconds):
        raise InvalidToken("not yet valid")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("no subject")
