"""Bearer authentication and role checks for the gateway's routes."""

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

    def issue(self, user_id: str, role: str) -> str:
        now = epoch_seconds()
        claims = {
            "sub": user_id,
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "iss": self.policy.issuer,
            "aud": self.policy.audience,
        }
        return jwt.encode(claims, self.policy.secret)

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
        return Identity(claims["sub"], claims["role"])

    def authorize(self, request: HttpRequest, access: str) -> Identity | None:
        """The caller's identity for `access`; 401 without a valid token, 403 without the role."""
        if access == PUBLIC:
            return None
        identity = self.identify(request)
        request.user_id = identity.user_id
        if access == ADMIN_ONLY and not identity.is_admin:
            raise Forbidden("This route is for administrators")
        return identity
