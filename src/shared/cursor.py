"""Page cursors for keyset pagination on (created_at, id).

A cursor is the last row's sort key, `<created_at>~<id>`: stable under inserts (unlike
an offset), and described exactly by CURSOR_PATTERN, so the OpenAPI document can say
which cursors are valid and every string it allows is a position the query can use
(any such position is safe: the caller's filters still apply).
"""

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from shared.errors import Unprocessable


class BadCursor(ValueError):
    """The cursor was not made by `encode_cursor` (tampered, truncated or foreign)."""


# The row id: ours (`ord_` + 24 hex) or a queue's message id (a dead letter's: 32 hex, as
# Cloudflare Queues and miniflare make them).
CURSOR_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z~(?:[a-z]{3}_[0-9a-f]{24}|[0-9a-f]{32})$"
)
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(created_at: str, row_id: str) -> str:
    return f"{created_at}~{row_id}"


def decode_cursor(cursor: str) -> tuple[str, str]:
    if not _CURSOR.fullmatch(cursor):
        raise BadCursor("not a cursor of this API")
    created_at, row_id = cursor.split("~", 1)
    return created_at, row_id


def page_after(cursor: str | None) -> tuple[str, str] | None:
    """Where a page starts: after the cursor's row, or at the top without one; 422 for a
    cursor this API did not make."""
    try:
        return decode_cursor(cursor) if cursor else None
    except BadCursor:
        raise Unprocessable("The cursor is not valid") from None


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
