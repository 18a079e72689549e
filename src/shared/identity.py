"""Who is calling, as the gateway tells the services.

The gateway verifies the JWT, strips every client-sent header in this namespace
and sets these from the token; services trust them because only the gateway can
reach them (no routes, workers_dev = false).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import Unauthenticated

if TYPE_CHECKING:
    from shared.http import HttpRequest

USER_ID_HEADER = "x-user-id"
USER_ROLE_HEADER = "x-user-role"
INTERNAL_PREFIX = "x-internal-"
IDENTITY_HEADERS = (USER_ID_HEADER, USER_ROLE_HEADER)

ADMIN = "admin"
USER = "user"


@dataclass(frozen=True)
class Identity:
    user_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def may_see(self, owner_id: str) -> bool:
        return self.is_admin or self.user_id == owner_id

    def as_headers(self) -> dict[str, str]:
        return {USER_ID_HEADER: self.user_id, USER_ROLE_HEADER: self.role}


def identity_from_headers(headers: dict[str, str]) -> Identity | None:
    user_id = headers.get(USER_ID_HEADER, "")
    role = headers.get(USER_ROLE_HEADER, "")
    return Identity(user_id, role) if user_id and role in (ADMIN, USER) else None


def is_identity_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in IDENTITY_HEADERS or lowered.startswith(INTERNAL_PREFIX) or lowered.startswith("x-user-")


def caller_of(request: "HttpRequest") -> Identity:
    """The identity the gateway vouched for (401 without one); also names the caller in the request's log line."""
    identity = identity_from_headers(request.headers)
    if identity is None:
        raise Unauthenticated("Authentication required")
    request.user_id = identity.user_id
    return identity
