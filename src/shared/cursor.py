"""Opaque page cursors for keyset pagination on (created_at, id).

A cursor is the last row's sort key, JSON in unpadded base64url: opaque to clients,
cheap to decode, and stable under inserts (unlike an offset).
"""

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Protocol, TypeVar


class BadCursor(ValueError):
    """The cursor was not made by `encode_cursor` (tampered, truncated or foreign)."""


def encode_cursor(created_at: str, row_id: str) -> str:
    raw = json.dumps([created_at, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("not a cursor this service issued") from None
    if not (isinstance(created_at, str) and isinstance(row_id, str)):
        raise BadCursor("not a cursor this service issued")
    return created_at, row_id


class Keyed(Protocol):
    @property
    def created_at(self) -> str: ...

    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=Keyed)


def page_of(rows: Sequence[Item], limit: int) -> tuple[list[Item], str | None]:
    """The page, and the cursor of the next one (None on the last), from `limit + 1` rows fetched."""
    items = list(rows[:limit])
    return items, encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
