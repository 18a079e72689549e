"""The users API's shapes: one set of pydantic models for validation (here and in the
gateway) and for the OpenAPI document.

Request bodies forbid unknown fields, so a typo is a 422 rather than silently ignored.
"""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, StringConstraints

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
_common_passwords: frozenset[str] | None = None


def _not_common(value: str) -> str:
    """NIST SP 800-63B: refuse passwords from a list of commonly used ones; no composition rules.

    The list (`contracts.common_passwords`) is imported and turned into a set on first use,
    so only the workers that check a new password pay for it, once per isolate.
    """
    global _common_passwords
    if _common_passwords is None:
        from contracts.common_passwords import PASSWORDS

        _common_passwords = frozenset(PASSWORDS.split("\n")) - {""}
    if value.lower() in _common_passwords:
        raise ValueError("this password is too common; choose one that is harder to guess")
    return value


Password = Annotated[
    str,
    Field(
        min_length=8,
        max_length=128,
        description="8-128 characters, any characters (no composition rules), not one of the most common passwords",
        examples=["correct horse battery"],
    ),
    AfterValidator(_not_common),
]
# A password being checked, not chosen: any string up to the bound (the bound keeps a
# megabyte "password" from costing a hash).
GivenPassword = Annotated[str, Field(min_length=1, max_length=128)]
# 256 random bits in base64url are 43 characters; the bound keeps junk from being hashed.
RefreshToken = Annotated[
    str, Field(min_length=1, max_length=256, description="The opaque refresh token from login or refresh")
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
    password: GivenPassword


_REFRESH_TOKEN_EXAMPLE = "q3Xh0rV4b9mJ2kTzL8wYc1nP5sEaG7dUf6iOqRtBy0M"


class RefreshRequest(_Body):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refresh_token": _REFRESH_TOKEN_EXAMPLE}]}
    )

    refresh_token: RefreshToken


def _must_be_true(value: bool) -> bool:
    if not value:
        raise ValueError('send {"all": true} to end every session, or a refresh_token to end one')
    return value


class LogoutSession(_Body):
    """End the session this refresh token belongs to (when it is the caller's)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refresh_token": _REFRESH_TOKEN_EXAMPLE}]}
    )

    refresh_token: RefreshToken


class LogoutEverywhere(_Body):
    """End every session of the caller's account."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"all": True}]})

    all: Annotated[
        bool, Field(strict=True, json_schema_extra={"const": True}, description="true"), AfterValidator(_must_be_true)
    ]


class LogoutRequest(RootModel[LogoutSession | LogoutEverywhere]):
    """`{"refresh_token": ...}` or `{"all": true}`: exactly one of them (the contract's two forms)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refresh_token": _REFRESH_TOKEN_EXAMPLE}, {"all": True}]}
    )


class ChangePasswordRequest(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "correct horse battery", "new_password": "plum tart at dusk"}]
        },
    )

    current_password: GivenPassword
    new_password: Password


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
                    "expires_in": 900,
                    "refresh_token": _REFRESH_TOKEN_EXAMPLE,
                    "refresh_expires_in": 2592000,
                }
            ]
        }
    )

    access_token: Annotated[
        str, Field(description="A short-lived HS256 JWT; send it as `Authorization: Bearer <token>`")
    ]
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: Annotated[int, Field(description="Seconds until the access token expires")]
    refresh_token: Annotated[str, Field(description="Opaque; spend it at POST /api/auth/refresh for a new pair")]
    refresh_expires_in: Annotated[int, Field(description="Seconds until the refresh token expires")]


class SessionGrant(BaseModel):
    """What the users service answers the gateway on login and refresh: who, and the session's new refresh token.

    The gateway mints the access token from it (only the gateway holds the signing keys).
    """

    user_id: str
    role: Role
    session_id: str
    refresh_token: str
    refresh_expires_in: int


class ListUsersQuery(BaseModel):
    """Unknown query parameters are ignored (cache busters and the like)."""

    limit: Annotated[int, Field(ge=1, le=100, description="Page size")] = 20
    cursor: Cursor | None = None
