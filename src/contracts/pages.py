"""What paginated lists share: the cursor a client passes back for the next page."""

from typing import Annotated

from pydantic import Field

from shared.cursor import CURSOR_PATTERN

Cursor = Annotated[
    str,
    Field(
        pattern=CURSOR_PATTERN,
        max_length=64,
        description="next_cursor of the previous page",
        examples=["2026-09-08T12:00:00.000Z~ord_0123456789abcdef01234567"],
    ),
]
