"""Who is calling, as the gateway tells the services.

The gateway verifies the JWT, strips every client-sent header in this namespace
and sets these from the token; services trust them because only the gateway can
reach them (no routes, workers_dev = false).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shared.http import HttpRequest

USER_ID_HEADER = "x-user-id"
USER_ROLE_HEADER = "x-user-role"
SESSION_ID_HEADER = "x-session-id"  # the login session (refresh-token family) the caller's token came from

ADMIN = "admin"
USER = "user"


@dataclass(frozen=True)
class Identity:
    user_id: str
    role: str
    session_id: str = ""  # empty for tokens minted before sessions existed

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def may_see(self, owner_id: str) -> bool:
        return self.is_admin or self.user_id == owner_id

    def as_headers(self) -> dict[str, str]:
        headers = {USER_ID_HEADER: self.user_id, USER_ROLE_HEADER: self.role}
        if self.session_id:
            headers[SESSION_ID_HEADER] = self.session_id
        return headers


def identity_from_headers(headers: "Mapping[str, str]") -> Identity | None:
    user_id = headers.get(USER_ID_HEADER, "")
    role = headers.get(USER_ROLE_HEADER, "")
    if not user_id or role not in (ADMIN, USER):
        return None
    return Identity(user_id, role, headers.get(SESSION_ID_HEADER, ""))


def caller_of(request: "HttpRequest") -> Identity:
    """The identity the gateway vouched for (401 without one); also names the caller in the request's log line."""
    identity = identity_from_headers(request.headers)
    if identity is None:
        raise Unauthenticated("Authentication required")
    request.user_id = identity.user_id
    return identity


def require_admin(caller: Identity, action: str) -> None:
    """403 unless the caller is an admin; `action` completes "Only admins may ..."."""
    if not caller.is_admin:
        raise Forbidden(f"Only admins may {action}")
