"""Errors the services raise, in domain words; the HTTP layer maps them to problem+json.

Services never pick status codes: they say what went wrong, and `shared.http`
decides how a client hears about it.
"""

from typing import Any


class DomainError(Exception):
    """A business rule said no. `detail` is safe to show to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """Absent, or present but not the caller's to see (no existence leaks)."""


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, wrong status, in flight)."""


class Forbidden(DomainError):
    """The caller is known but its role does not allow this."""


class Unauthenticated(DomainError):
    """Credentials are missing or wrong."""


class TooManyAttempts(DomainError):
    """The caller must wait `retry_after_seconds` before trying again (login throttling)."""

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = max(1, retry_after_seconds)


class Unprocessable(DomainError):
    """Well-formed input that the rules reject (for example an idempotency key reused with another body)."""


class HttpProblem(Exception):
    """An HTTP-level refusal raised by handlers: becomes an RFC 9457 problem as it is."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = errors
        self.headers = headers or {}


_MAX_REASON_CHARS = 300


def describe(error: BaseException) -> str:
    """A short reason for admins (run summaries, dead letters): type and message; the traceback goes to the log."""
    return f"{type(error).__name__}: {error}"[:_MAX_REASON_CHARS]
