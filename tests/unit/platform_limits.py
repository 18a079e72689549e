"""The per-invocation limits of Cloudflare's bindings, which the test fakes enforce.

A worker invocation (one request, one queue batch, one cron run) may issue at most so
many D1 queries and KV operations; a D1 statement binds at most 100 parameters. Code
that passes in a test but would break these on Cloudflare must fail in the test too.
Figures: developers.cloudflare.com/d1/platform/limits and /kv/platform/limits.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

D1_MAX_BOUND_PARAMETERS = 100
D1_QUERIES_FREE_PLAN = 50
D1_QUERIES_PAID_PLAN = 1_000
KV_OPERATIONS_PER_INVOCATION = 1_000
KV_MIN_TTL_SECONDS = 60


class LimitExceeded(RuntimeError):
    """What the platform would have refused."""


@dataclass
class Budget:
    """Operations left in the current invocation; None outside one (test set-up is free)."""

    name: str
    left: int | None = None

    def spend(self, count: int = 1) -> None:
        if self.left is None:
            return
        if count > self.left:
            raise LimitExceeded(f"{self.name}: over the per-invocation limit")
        self.left -= count

    @contextmanager
    def invocation(self, limit: int) -> Iterator[None]:
        self.left = limit
        try:
            yield
        finally:
            self.left = None
