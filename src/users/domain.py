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
