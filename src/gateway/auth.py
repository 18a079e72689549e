"""Bearer authentication and role checks for the gateway's routes.

An ordinary request costs one HMAC here and nothing else: no store is read to decide
whether its token is good. Revocation reaches access tokens through their short life
(`JWT_TTL_SECONDS`); what must stop at once (a deleted account's writes) is refused
by the service that owns the write (see the README's security section).
"""

from dataclasses import dataclass

from gateway import jwt
from shared.clock import epoch_seconds
from shared.errors import Forbidden, Unauthenticated
from shared.http import HttpRequest
from shared.identity import ADMIN, USER, Identity

PUBLIC = "public"
SIGNED_IN = "user"
ADMIN_ONLY = "admin"


@dataclass(frozen=True)
class Authenticator:
    policy: jwt.TokenPolicy
    ttl_seconds: int

    def issue(self, user_id: str, role: str, session_id: str = "") -> str:
        """An access token; `sid` names the login session (refresh-token family) it belongs to."""
        now = epoch_seconds()
        claims: dict[str, object] = {
            "sub": user_id,
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "iss": self.policy.issuer,
            "aud": self.policy.audience,
        }
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(claims, self.policy)

    def identify(self, request: HttpRequest) -> Identity:
        scheme, _, token = request.header("authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("A bearer token is required")
        try:
            claims = jwt.decode(token.strip(), self.policy, epoch_seconds())
        except jwt.InvalidToken:
            raise Unauthenticated("The token is invalid or expired") from None
        if claims.get("role") not in (USER, ADMIN):
            raise Unauthenticated("The token is invalid or expired")
        session_id = claims.get("sid")
        return Identity(claims["sub"], claims["role"], session_id if isinstance(session_id, str) else "")

    def authorize(self, request: HttpRequest, access: str) -> Identity | None:
        """The caller's identity for `access`; 401 without a valid token, 403 without the role."""
        if access == PUBLIC:
            return None
        identity = self.identify(request)
        request.user_id = identity.user_id
        if access == ADMIN_ONLY and not identity.is_admin:
            raise Forbidden("This route is for administrators")
        return identity
