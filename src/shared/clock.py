"""Time and ids in the forms the API promises: RFC 3339 UTC strings and opaque ids."""

import secrets
import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_seconds() -> int:
    return int(time.time())


def new_id(prefix: str) -> str:
    """Sortable by creation time (hex milliseconds first), then random."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(6)}"
