"""The users worker's business rules: who may do what to which account.

No HTTP and no runtime here: callers arrive as an `Identity`, refusals leave as
`shared.errors` domain errors, storage is a repository, and the cache, the erasure
starter and the password hasher are protocols, so every rule runs in CPython tests.
"""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared import clock
from shared.adapters.crypto import PasswordHash, Pbkdf2Hasher
from shared.adapters.kv import KvCache
from shared.cursor import page_after, page_of
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated
from shared.identity import ADMIN, USER, Identity, require_admin
from shared.maintenance import Counts, Task
from users.domain import SessionGrant, UserRecord
from users.repository import LoginFailureRepository, SessionRepository, UserRepository
from users.throttle import LoginThrottle, ThrottlePolicy, throttle_key

BAD_CREDENTIALS = "Invalid email or password"
BAD_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked"
WRONG_PASSWORD = "The current password is wrong"
NO_SUCH_USER = "No such user"
REFRESH_TOKEN_BYTES = 32  # 256 random bits (RFC 9700 asks for unguessable tokens)
SESSION_CLEANUP_BATCH = 1000  # expired refresh tokens dropped per cron run
MAX_PAGE = 100
_CACHE_PREFIX = "users:v1:"  # bump when the cached shape changes
_PUBLIC_FIELDS = frozenset({"id", "email", "name", "role", "created_at", "updated_at"})


class ErasureStarter(Protocol):
    async def start(self, user_id: str, deleted_at: str, request_id: str) -> None:
        """Start the account's erasure (users.erasure); raises when it could not be started."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> PasswordHash: ...

    async def verify(self, password: str, stored: PasswordHash) -> bool: ...

    async def waste(self, password: str) -> None: ...


@dataclass(frozen=True)
class UsersSettings:
    admin_emails: frozenset[str] = frozenset()
    cache_ttl_seconds: int = 300
    purge_after_seconds: int = 30 * 24 * 3600
    refresh_ttl_seconds: int = 30 * 24 * 3600
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)


class RefreshTokenReused(Unauthenticated):
    """A spent refresh token came back: someone holds a copy, so its whole session was revoked."""


@dataclass(frozen=True)
class Lookup:
    """A user as the API shows it, and whether it came from the cache."""

    user: dict[str, Any]
    cache_hit: bool


def normalise_email(email: str) -> str:
    return email.strip().lower()


def cache_key(user_id: str) -> str:
    return _CACHE_PREFIX + user_id


def token_hash(token: str) -> str:
    """How a refresh token is stored and looked up: never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class UsersService:
    def __init__(
        self,
        users: UserRepository,
        cache: KvCache,
        erasures: ErasureStarter,
        settings: UsersSettings,
        hasher: PasswordHasher | None = None,
        now: Callable[[], datetime] = clock.now,
        *,
        sessions: SessionRepository | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        """Sessions and login counters live in the users database unless given."""
        self.users = users
        self.cache = cache
        self.erasures = erasures
        self.settings = settings
        self.hasher = hasher or Pbkdf2Hasher()
        self._now = now
        self.sessions = sessions or SessionRepository(users.db)
        self.throttle = throttle or LoginThrottle(LoginFailureRepository(users.db), settings.throttle, now)

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
        attempts cost one hash each and fail alike, so neither timing nor wording tells them apart;
        all three count towards the email's throttle, which refuses before any hash."""
        email = normalise_email(email)
        found = await self.users.for_login(email, throttle_key(email))
        had_failures, user = self.throttle.admit(found.locked_until), found.user
        if user is None:
            await self.hasher.waste(password)
        if user is None or not await self.hasher.verify(password, user.password):
            await self.throttle.failed(email)
            raise Unauthenticated(BAD_CREDENTIALS)
        await self.throttle.succeeded(email, had_failures)
        return user

    # -- sessions ----------------------------------------------------------------

    async def login(self, email: str, password: str) -> SessionGrant:
        """Credentials in; a new session and its first refresh token out."""
        user = await self.authenticate(email, password)
        token, moment = secrets.token_urlsafe(REFRESH_TOKEN_BYTES), self._now()
        session_id = clock.new_id("ses")
        await self.sessions.open(
            session_id, user.id, token_hash(token), clock.iso(moment), self._refresh_expiry(moment)
        )
        return SessionGrant(user.id, user.role, session_id, token, self.settings.refresh_ttl_seconds)

    async def refresh(self, token: str) -> SessionGrant:
        """Spend a refresh token for its successor (RFC 9700 rotation).

        A spent token presented again, or two requests racing with one token, revokes
        the session: one of the two holders is not the owner.
        """
        state = await self.sessions.find(token_hash(token))
        moment = self._now()
        now = clock.iso(moment)
        if state is None:
            raise Unauthenticated(BAD_REFRESH_TOKEN)
        if state.spent_at is not None:
            await self.sessions.revoke(state.session_id, now)
            raise RefreshTokenReused(BAD_REFRESH_TOKEN)
        if state.session_revoked_at is not None or state.expires_at <= now or state.role is None:
            raise Unauthenticated(BAD_REFRESH_TOKEN)
        successor = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        expires_at = self._refresh_expiry(moment)
        if not await self.sessions.rotate(token_hash(token), token_hash(successor), state.session_id, now, expires_at):
            await self.sessions.revoke(state.session_id, now)
            raise RefreshTokenReused(BAD_REFRESH_TOKEN)
        return SessionGrant(state.user_id, state.role, state.session_id, successor, self.settings.refresh_ttl_seconds)

    async def logout(self, caller: Identity, refresh_token: str | None) -> None:
        """End the session of `refresh_token` (only if it is the caller's), or every session when None."""
        now = self._timestamp()
        if refresh_token is None:
            await self.sessions.revoke_all(caller.user_id, now)
        else:
            await self.sessions.revoke_by_token(caller.user_id, token_hash(refresh_token), now)

    async def change_password(self, caller: Identity, current: str, new: str) -> None:
        """Check the current password (throttled like a login), store the new one, end every other session."""
        user = await self.me(caller)
        had_failures = await self.throttle.check(user.email)
        if not await self.hasher.verify(current, user.password):
            await self.throttle.failed(user.email)
            raise Forbidden(WRONG_PASSWORD)
        await self.throttle.succeeded(user.email, had_failures)
        password = await self.hasher.hash(new)
        if not await self.users.change_password(user.id, password, self._timestamp(), caller.session_id):
            raise NotFound(NO_SUCH_USER)

    def _refresh_expiry(self, moment: datetime) -> str:
        return clock.iso(moment + timedelta(seconds=self.settings.refresh_ttl_seconds))

    # -- reading ------------------------------------------------------------------

    async def me(self, caller: Identity) -> UserRecord:
        user = await self.users.get(caller.user_id)
        if user is None:
            raise NotFound(NO_SUCH_USER)
        return user

    async def list_users(self, caller: Identity, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
        """One page of live users in creation order, and the cursor of the next page (None on the last)."""
        require_admin(caller, "list users")
        limit = max(1, min(limit, MAX_PAGE))
        return page_of(await self.users.page(limit + 1, page_after(cursor)), limit)

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
        """Soft delete, drop the cached copy and start the account's erasure (users.erasure).

        If the cache or the erasure's start fails, the soft delete is undone and the error
        raised, so a retried DELETE still starts it (rather than answering 404 with no
        erasure running). A second DELETE finds no live account: 404, nothing started.
        """
        self._check_access(caller, user_id)
        deleted_at = self._timestamp()
        if not await self.users.soft_delete(user_id, deleted_at):
            raise NotFound(NO_SUCH_USER)
        try:
            await self.cache.delete(cache_key(user_id))
            await self.erasures.start(user_id, deleted_at, request_id)
        except Exception:
            await self.users.undo_soft_delete(user_id, deleted_at)
            raise

    # -- maintenance -------------------------------------------------------------

    def maintenance_tasks(self) -> dict[str, Task]:
        return {"forget_expired_sessions": self.forget_expired_sessions}

    async def forget_expired_sessions(self, now: datetime, counts: Counts) -> None:
        """Expired refresh tokens (spent ones are kept until then, to catch their reuse), the
        sessions left without a token, and login counters whose series is over: three statements."""
        counts["refresh_tokens_forgotten"] = await self.sessions.forget_expired(clock.iso(now), SESSION_CLEANUP_BATCH)
        counts["login_counters_forgotten"] = await self.throttle.forget_stale()

    @staticmethod
    def _check_access(caller: Identity, user_id: str) -> None:
        """Self or admin; anyone else hears the same NotFound as for a missing user (no existence leak)."""
        if not caller.may_see(user_id):
            raise NotFound(NO_SUCH_USER)
