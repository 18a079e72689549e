"""The users worker's domain objects: plain dataclasses, no pydantic, no runtime."""

from dataclasses import dataclass, field
from typing import Any

from shared.adapters.crypto import PasswordHash


@dataclass(frozen=True)
class UserRecord:
    """A stored account. `public()` is the only view that leaves the service."""

    id: str
    email: str
    name: str
    role: str
    password: PasswordHash = field(repr=False)
    created_at: str
    updated_at: str
    deleted_at: str | None = None

    def public(self) -> dict[str, Any]:
        """The API's User shape (never the password hash or salt)."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class SessionGrant:
    """A session's new refresh token, and who it is for: what login and refresh hand the gateway.

    The token itself leaves the service only here; it is stored as a hash.
    """

    user_id: str
    role: str
    session_id: str
    refresh_token: str = field(repr=False)
    refresh_expires_in: int

    def public(self) -> dict[str, Any]:
        """The contract's `SessionGrant` shape (the gateway's internal answer)."""
        return {
            "user_id": self.user_id,
            "role": self.role,
            "session_id": self.session_id,
            "refresh_token": self.refresh_token,
            "refresh_expires_in": self.refresh_expires_in,
        }
