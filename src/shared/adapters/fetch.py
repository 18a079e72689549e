"""Outbound HTTP with the runtime's `fetch`: the one POST the webhook and the SQL API make.

Both adapters take it as a transport (`Post`), so tests hand them a fake instead.
"""

from collections.abc import Awaitable, Callable

# (url, body, headers) -> (HTTP status, body text, or "" when it was not read).
Post = Callable[[str, str, dict[str, str]], Awaitable[tuple[int, str]]]


async def post(url: str, body: str, headers: dict[str, str], *, read_body: bool = False) -> tuple[int, str]:
    """POST `body`; the status, and the answer's text only when `read_body` (a webhook never
    reads what its receiver answers; the SQL API's answer is the point of the call). The SDK is
    imported here, lazily, so CPython tests never load it."""
    from workers import fetch

    response = await fetch(url, method="POST", headers=headers, body=body)
    return int(response.status), str(await response.text()) if read_body else ""
