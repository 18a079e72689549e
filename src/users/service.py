"""The users worker's business rules: who may do what to which account.

No HTTP and no runtime here: callers arrive as an `Identity`, refusals leave as
`shared.errors` domain errors, storage is a repository, and the cache, the event
queue and the password hasher are protocols, so every rule runs in CPython tests.
"""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from contracts.events import USER_DELETED
from shared import clock
from shared.adapters.crypto import PasswordHash, Pbkdf2Hasher
from shared.adapters.kv import KvCache
from shared.adapters.queue import EventPublisher
from shared.cursor import decode_cursor, page_of
from shared.errors import Conflict, NotFound, Unauthenticated, Unprocessable
from shared.identity import ADMIN, USER, Identity, require_admin
from shared.maintenance import Counts, Task
from users.domain import UserRecord
from users.repository import UserRepository

BAD_CREDENTIALS = "Invalid email or password"
NO_SUCH_USER = "No such user"
MAX_PAGE = 100
PURGE_BATCH = 100  # users per purge statement (and KV deletes per batch)
# Per run: 9 D1 statements and 900 KV deletes at most, under one invocation's limits on
# the free plan (50 D1 queries, 1,000 KV operations) with room for the run's own writes.
PURGE_MAX_BATCHES = 9
_CACHE_PREFIX = "users:v1:"  # bump when the cached shape changes
_PUBLIC_FIELDS = frozenset({"id", "email", "name", "role", "created_at", "updated_at"})


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> PasswordHash: ...

    async def verify(self, password: str, stored: PasswordHash) -> bool: ...

    async def waste(self, password: str) -> None: ...


@dataclass(frozen=True)
class UsersSettings:
    admin_emails: frozenset[str] = frozenset()
    cache_ttl_seconds: int = 300
    purge_after_seconds: int = 30 * 24 * 3600


@dataclass(frozen=True)
class Lookup:
    """A user as the API shows it, and whether it came from the cache."""

    user: dict[str, Any]
    cache_hit: bool


def normalise_email(email: str) -> str:
    return email.strip().lower()


def cache_key(user_id: str) -> str:
    return _CACHE_PREFIX + user_id


class UsersService:
    def __init__(
        self,
        users: UserRepository,
        cache: KvCache,
        events: EventPublisher,
        settings: UsersSettings,
        hasher: PasswordHasher | None = None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.users = users
        self.cache = cache
        self.events = events
        self.settings = settings
        self.hasher = hasher or Pbkdf2Hasher()
        self._now = now

    def _timestamp(self) -> str:
        return clock.iso(self._now())

    # -- credentials ------------------------------------------------------------

    async def register(self, email: str, password: str, name: str) -> UserRecord:
        """A new account; Conflict when a live account has this email (case-insensitive)."""
        email = normalise_email(email)
        role = ADMIN if email in self.settings.admin_emails else USER
        stamp = self._timestamp()
        user = UserRecord(
            clock.new_id("usr"), email, name.strip(), role, await self.hasher.hash(password), stamp, stamp
        )
        if not await self.users.add(user):
            raise Conflict("An account with this email already exists")
        return user

    async def authenticate(self, email: str, password: str) -> UserRecord:
        """The account these credentials open. Unknown, deleted and wrong-password
        attempts cost one hash each and fail alike, so neither timing nor wording tells them apart."""
        user = await self.users.get_by_email(normalise_email(email))
        if user is None:
            await self.hasher.waste(password)
            raise Unauthenticated(BAD_CREDENTIALS)
        if not await self.hasher.verify(password, user.password):
            raise Unauthenticated(BAD_CREDENTIALS)
        return user

    # -- reading ------------------------------------------------------------------

    async def me(self, caller: Identity) -> UserRecord:
        user = await self.users.get(caller.user_id)
        if user is None:
            raise NotFound(NO_SUCH_USER)
        return user

    async def list_users(self, caller: Identity, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
        """One page of live users in creation order, and the cursor of the next page (None on the last)."""
        require_admin(caller, "list users")
        try:
            after = decode_cursor(cursor) if cursor else None
        except ValueError as error:
            raise Unprocessable(str(error)) from None
        limit = max(1, min(limit, MAX_PAGE))
        return page_of(await self.users.page(limit + 1, after), limit)

    async def get_user(self, caller: Identity, user_id: str) -> Lookup:
        """Cache-aside read. Access is checked before the cache so a cached copy never leaks."""
        self._check_access(caller, user_id)
        cached = await self.cache.get_json(cache_key(user_id))
        if cached is not None and set(cached) == _PUBLIC_FIELDS:
            return Lookup(cached, cache_hit=True)
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound(NO_SUCH_USER)
        public = user.public()
        await self.cache.put_json(cache_key(user_id), public, self.settings.cache_ttl_seconds)
        return Lookup(public, cache_hit=False)

    # -- changing ------------------------------------------------------------------

    async def rename(self, caller: Identity, user_id: str, name: str) -> UserRecord:
        """Write D1 first, then drop the cached copy, so no reader can re-cache the old name after us
        (except one that read D1 before this write: that copy lives at most one TTL)."""
        self._check_access(caller, user_id)
        if not await self.users.rename(user_id, name.strip(), self._timestamp()):
            raise NotFound(NO_SUCH_USER)
        await self.cache.delete(cache_key(user_id))
        user = await self.users.get(user_id)
        if user is None:  # deleted between the two statements
            raise NotFound(NO_SUCH_USER)
        return user

    async def delete(self, caller: Identity, user_id: str, request_id: str) -> None:
        """Soft delete, drop the cached copy and announce `user.deleted`.

        If the cache or the queue fails, the soft delete is undone and the error raised,
        so a retried DELETE still sends the event (rather than answering 404 with the
        event lost and the user's orders left open).
        """
        self._check_access(caller, user_id)
        deleted_at = self._timestamp()
        if not await self.users.soft_delete(user_id, deleted_at):
            raise NotFound(NO_SUCH_USER)
        event = {
            "type": USER_DELETED,
            "id": uuid.uuid4().hex,
            "user_id": user_id,
            "request_id": request_id,
            "occurred_at": deleted_at,
        }
        try:
            await self.cache.delete(cache_key(user_id))
            await self.events.send(event)
        except Exception:
            await self.users.undo_soft_delete(user_id, deleted_at)
            raise

    # -- maintenance -------------------------------------------------------------

    def maintenance_tasks(self) -> dict[str, Task]:
        return {"purge_deleted_users": self.purge_deleted_users}

    async def purge_deleted_users(self, now: datetime, counts: Counts) -> None:
        """Hard-delete users soft-deleted more than `purge_after_seconds` before `now`, with their cache entries.

        Bounded per run whatever the backlog: PURGE_MAX_BATCHES statements of D1 and
        PURGE_MAX_BATCHES * PURGE_BATCH KV deletes, within one invocation's limits on the
        free plan; the rest waits for the next run.
        """
        cutoff = clock.iso(now - timedelta(seconds=self.settings.purge_after_seconds))
        counts.setdefault("users_purged", 0)
        counts.setdefault("cache_entries_deleted", 0)
        for _ in range(PURGE_MAX_BATCHES):
            user_ids = await self.users.purge_deleted_before(cutoff, PURGE_BATCH)
            counts["users_purged"] += len(user_ids)
            await asyncio.gather(*(self.cache.delete(cache_key(user_id)) for user_id in user_ids))
            counts["cache_entries_deleted"] += len(user_ids)
            if len(user_ids) < PURGE_BATCH:
                return

    @staticmethod
    def _check_access(caller: Identity, user_id: str) -> None:
        """Self or admin; anyone else hears the same NotFound as for a missing user (no existence leak)."""
        if not caller.may_see(user_id):
            raise NotFound(NO_SUCH_USER)
