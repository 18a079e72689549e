"""The users API's shapes: one set of pydantic models for validation (here and in the
gateway) and for the OpenAPI document.

Request bodies forbid unknown fields, so a typo is a 422 rather than silently ignored.
"""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from contracts.pages import Cursor

# Matched after trimming and lower-casing. Deliberately loose (RFC 5322 is not a
# regex): a plausible local part, one @, and a dotted domain of DNS labels.
_EMAIL = re.compile(
    r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


def _normalised_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise ValueError("not a valid email address")
    return email


Email = Annotated[
    str,
    Field(
        max_length=320,
        description="Email address; stored and compared in lower case",
        examples=["ada@example.com"],
        json_schema_extra={"format": "email"},
    ),
    AfterValidator(_normalised_email),
]
# At login any string may be tried: a malformed email simply does not match (401).
LoginEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=254),
    Field(description="The email the account was registered with", examples=["ada@example.com"]),
]
Password = Annotated[
    str,
    Field(min_length=8, max_length=128, description="8-128 characters", examples=["correct horse battery"]),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(description="Display name, 1-100 characters after trimming", examples=["Ada Lovelace"]),
]
Timestamp = Annotated[str, Field(description="RFC 3339 UTC", examples=["2026-09-08T12:00:00.000Z"])]
Role = Literal["user", "admin"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}]
        },
    )

    email: Email
    password: Password
    name: Name


class LoginRequest(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "correct horse battery"}]},
    )

    email: LoginEmail
    # The upper bound keeps a megabyte "password" from costing a hash.
    password: Annotated[str, Field(min_length=1, max_length=128)]


class UpdateUserRequest(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Ada King"}]})

    name: Name


class User(BaseModel):
    """An account as clients see it: never a password, hash or salt."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c6d1e9a7b4c2d8e3f1a0b9c8d7e6f",
                    "email": "ada@example.com",
                    "name": "Ada",
                    "role": "user",
                    "created_at": "2026-09-08T12:00:00.000Z",
                    "updated_at": "2026-09-08T12:00:00.000Z",
                }
            ]
        }
    )

    id: Annotated[str, Field(examples=["5f0c6d1e9a7b4c2d8e3f1a0b9c8d7e6f"])]
    email: str
    name: str
    role: Role
    created_at: Timestamp
    updated_at: Timestamp


class UserPage(BaseModel):
    items: list[User]
    next_cursor: Annotated[str | None, Field(description="Pass as ?cursor= for the next page; null on the last")]


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZjBjIn0.c2lnbmF0dXJl",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            ]
        }
    )

    access_token: Annotated[str, Field(description="An HS256 JWT; send it as `Authorization: Bearer <token>`")]
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: Annotated[int, Field(description="Seconds until the token expires")]


class ListUsersQuery(BaseModel):
    """Unknown query parameters are ignored (cache busters and the like)."""

    limit: Annotated[int, Field(ge=1, le=100, description="Page size")] = 20
    cursor: Cursor | None = None
