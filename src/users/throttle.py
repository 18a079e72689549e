"""Per-account login throttling: guessing is slowed per email, whatever the address.

The rule (API.md, Auth): after `max_failures` failed logins for one email within
`window_seconds`, that email's logins answer 429 with `Retry-After` for
`lockout_seconds`, doubled by each further failure of the series up to
`lockout_max_seconds`; a success ends the series. An email with no account is counted
the same way, so the answers never tell whether an account exists. A throttled attempt
is refused before any password is hashed: it costs one D1 read and no PBKDF2.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared import clock
from shared.errors import TooManyAttempts
from users.repository import LoginFailureRepository

THROTTLED = "Too many failed logins for this account; try again later"


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window_seconds: int = 900
    lockout_seconds: int = 60
    lockout_max_seconds: int = 3600


def throttle_key(email: str) -> str:
    """The counter's key: a hash of the normalised email, so the table stores no address."""
    return hashlib.sha256(email.encode()).hexdigest()


class LoginThrottle:
    def __init__(
        self, failures: LoginFailureRepository, policy: ThrottlePolicy, now: Callable[[], datetime] = clock.now
    ) -> None:
        self.failures = failures
        self.policy = policy
        self._now = now

    def _epoch(self) -> int:
        return int(self._now().timestamp())

    async def check(self, email: str) -> bool:
        """TooManyAttempts while the email is locked; else whether it has failures on record."""
        return self.admit(await self.failures.locked_until(throttle_key(email)))

    def admit(self, locked_until: int | None) -> bool:
        """`check` on a counter already read (`locked_until`: None when the email has no
        failures on record; a login reads it together with the account)."""
        if locked_until is None:
            return False
        now = self._epoch()
        if locked_until > now:
            raise TooManyAttempts(THROTTLED, locked_until - now)
        return True

    async def failed(self, email: str) -> None:
        policy = self.policy
        await self.failures.record_failure(
            throttle_key(email),
            self._epoch(),
            window=policy.window_seconds,
            max_failures=policy.max_failures,
            lockout=policy.lockout_seconds,
            lockout_max=policy.lockout_max_seconds,
        )

    async def succeeded(self, email: str, had_failures: bool) -> None:
        """A success ends the series (a write only when there was one)."""
        if had_failures:
            await self.failures.clear(throttle_key(email))

    async def forget_stale(self) -> int:
        return await self.failures.forget_stale(self._epoch())
