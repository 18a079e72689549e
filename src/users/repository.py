"""The users worker's SQL, over the `Database` protocol (D1 in the runtime, SQLite in tests).

Only this module knows table and column names. "Live" means not soft-deleted.
"""

from dataclasses import dataclass

from shared.adapters.crypto import PasswordHash
from shared.adapters.d1 import Database, Row, Statement
from users.domain import UserRecord

_USER_COLUMNS = (
    "id, email, name, role, password_hash, password_salt, password_iterations, created_at, updated_at, deleted_at"
)
_LOGIN_COLUMNS = ", ".join(f"u.{name}" for name in _USER_COLUMNS.split(", "))


@dataclass(frozen=True)
class LoginLookup:
    """What a login reads before any hash: the live account (None: there is none) and its
    email's throttle lock (None: no failures on record; 0: failures, not locked)."""

    user: UserRecord | None
    locked_until: int | None


def _user(row: Row) -> UserRecord:
    password = PasswordHash(
        bytes.fromhex(row["password_hash"]), bytes.fromhex(row["password_salt"]), int(row["password_iterations"])
    )
    return UserRecord(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        password=password,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, user: UserRecord) -> bool:
        """Insert unless a live account holds the email; False when one does.

        The partial unique index decides, so two racing registrations cannot both win.
        """
        changed = await self.db.run(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING",
            user.id,
            user.email,
            user.name,
            user.role,
            user.password.key.hex(),
            user.password.salt.hex(),
            user.password.iterations,
            user.created_at,
            user.updated_at,
            user.deleted_at,
        )
        return changed == 1

    async def get(self, user_id: str) -> UserRecord | None:
        row = await self.db.first(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ? AND deleted_at IS NULL", user_id)
        return _user(row) if row else None

    async def for_login(self, email: str, throttle_key: str) -> LoginLookup:
        """The live account of `email` and its throttle counter (keyed `throttle_key`), in one
        statement: a login waits on both before any hash, and D1 is a round trip each."""
        row = await self.db.first(
            f"SELECT {_LOGIN_COLUMNS}, f.locked_until AS throttle_locked_until "
            "FROM (SELECT ? AS email, ? AS key) AS q "
            "LEFT JOIN users AS u ON u.email = q.email AND u.deleted_at IS NULL "
            "LEFT JOIN login_failures AS f ON f.key = q.key",
            email,
            throttle_key,
        )
        if row is None:  # the statement always gives one row; a fake that gives none finds nothing
            return LoginLookup(None, None)
        locked_until = row["throttle_locked_until"]
        return LoginLookup(_user(row) if row["id"] else None, None if locked_until is None else int(locked_until))

    async def page(self, limit: int, after: tuple[str, str] | None) -> list[UserRecord]:
        """Up to `limit` live users in (created_at, id) order, strictly after the key `after`."""
        if after is None:
            rows = await self.db.all(
                f"SELECT {_USER_COLUMNS} FROM users WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT ?", limit
            )
        else:
            rows = await self.db.all(
                f"SELECT {_USER_COLUMNS} FROM users WHERE deleted_at IS NULL AND (created_at, id) > (?, ?) "
                "ORDER BY created_at, id LIMIT ?",
                after[0],
                after[1],
                limit,
            )
        return [_user(row) for row in rows]

    async def rename(self, user_id: str, name: str, updated_at: str) -> bool:
        changed = await self.db.run(
            "UPDATE users SET name = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL", name, updated_at, user_id
        )
        return changed == 1

    async def soft_delete(self, user_id: str, deleted_at: str) -> bool:
        """Mark a live user deleted and end all its sessions, in one transaction; False when
        there was none (absent or already deleted)."""
        changed, _ = await self.db.batch(
            [
                ("UPDATE users SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", (deleted_at, user_id)),
                SessionRepository.revoke_all_statement(user_id, deleted_at),
            ]
        )
        return changed == 1

    async def change_password(self, user_id: str, password: PasswordHash, now: str, keep_session_id: str) -> bool:
        """Store the new hash and end every other session of the user, in one transaction."""
        changed, _ = await self.db.batch(
            [
                (
                    "UPDATE users SET password_hash = ?, password_salt = ?, password_iterations = ?, updated_at = ? "
                    "WHERE id = ? AND deleted_at IS NULL",
                    (password.key.hex(), password.salt.hex(), password.iterations, now, user_id),
                ),
                SessionRepository.revoke_all_statement(user_id, now, keep_session_id),
            ]
        )
        return changed == 1

    async def undo_soft_delete(self, user_id: str, deleted_at: str) -> bool:
        """Revert exactly the soft delete stamped `deleted_at` (a compensation, not a feature)."""
        changed = await self.db.run(
            "UPDATE users SET deleted_at = NULL WHERE id = ? AND deleted_at = ?", user_id, deleted_at
        )
        return changed == 1

    async def purge(self, user_id: str) -> bool:
        """Hard-delete a soft-deleted account with its sessions and refresh tokens, in one
        transaction; False when there was no such row (a retry after it was done)."""
        *_, changed = await self.db.batch(
            [
                (
                    "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)",
                    (user_id,),
                ),
                ("DELETE FROM sessions WHERE user_id = ?", (user_id,)),
                ("DELETE FROM users WHERE id = ? AND deleted_at IS NOT NULL", (user_id,)),
            ]
        )
        return changed == 1


@dataclass(frozen=True)
class RefreshTokenState:
    """A stored refresh token, its session, and its account's role (None once the account is deleted)."""

    session_id: str
    user_id: str
    expires_at: str
    spent_at: str | None
    session_revoked_at: str | None
    role: str | None


class SessionRepository:
    """Sessions (refresh-token families) and their tokens, stored by hash only."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, session_id: str, user_id: str, token_hash: str, created_at: str, expires_at: str) -> None:
        """A new session and its first token, together."""
        await self.db.batch(
            [
                ("INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)", (session_id, user_id, created_at)),
                _token_insert(token_hash, session_id, created_at, expires_at),
            ]
        )

    async def find(self, token_hash: str) -> RefreshTokenState | None:
        row = await self.db.first(
            "SELECT t.session_id, s.user_id, t.expires_at, t.spent_at, s.revoked_at, u.role "
            "FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id "
            "LEFT JOIN users u ON u.id = s.user_id AND u.deleted_at IS NULL WHERE t.token_hash = ?",
            token_hash,
        )
        if row is None:
            return None
        return RefreshTokenState(
            row["session_id"], row["user_id"], row["expires_at"], row["spent_at"], row["revoked_at"], row["role"]
        )

    async def rotate(self, old_hash: str, new_hash: str, session_id: str, now: str, expires_at: str) -> bool:
        """Spend `old_hash` for `new_hash` in one transaction; False when another request spent it first.

        The successor is inserted only where this very exchange marked the old token
        (`replaced_by`), so of two racing exchanges exactly one gets a token.
        """
        spent, inserted = await self.db.batch(
            [
                (
                    "UPDATE refresh_tokens SET spent_at = ?, replaced_by = ? WHERE token_hash = ? AND spent_at IS NULL",
                    (now, new_hash, old_hash),
                ),
                (
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) "
                    "SELECT ?, ?, ?, ? WHERE EXISTS "
                    "(SELECT 1 FROM refresh_tokens WHERE token_hash = ? AND replaced_by = ?)",
                    (new_hash, session_id, now, expires_at, old_hash, new_hash),
                ),
            ]
        )
        return spent == 1 and inserted == 1

    async def revoke(self, session_id: str, now: str) -> bool:
        changed = await self.db.run(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, session_id
        )
        return changed == 1

    async def revoke_by_token(self, user_id: str, token_hash: str, now: str) -> bool:
        """End the session of this refresh token, if it is the user's (anyone else's is left alone)."""
        changed = await self.db.run(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL "
            "AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = ?)",
            now,
            user_id,
            token_hash,
        )
        return changed == 1

    @staticmethod
    def revoke_all_statement(user_id: str, now: str, keep_session_id: str = "") -> Statement:
        """Every live session of the user but `keep_session_id`: batched with the change that causes it."""
        return (
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id != ?",
            (now, user_id, keep_session_id),
        )

    async def revoke_all(self, user_id: str, now: str) -> int:
        sql, params = self.revoke_all_statement(user_id, now)
        return await self.db.run(sql, *params)

    async def forget_expired(self, now: str, limit: int) -> int:
        """Drop up to `limit` expired tokens, then the sessions left with none: two statements."""
        tokens, _ = await self.db.batch(
            [
                (
                    "DELETE FROM refresh_tokens WHERE token_hash IN "
                    "(SELECT token_hash FROM refresh_tokens WHERE expires_at < ? LIMIT ?)",
                    (now, limit),
                ),
                (
                    "DELETE FROM sessions WHERE NOT EXISTS "
                    "(SELECT 1 FROM refresh_tokens WHERE refresh_tokens.session_id = sessions.id)",
                    (),
                ),
            ]
        )
        return tokens


def _token_insert(token_hash: str, session_id: str, created_at: str, expires_at: str) -> Statement:
    return (
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (token_hash, session_id, created_at, expires_at),
    )


class LoginFailureRepository:
    """Failed-login counters per email key. Times are epoch seconds.

    D1 holds them because every isolate everywhere writes to the one primary: a burst
    spread over many isolates and addresses still lands on one counter, and each
    increment is a single atomic statement (no read-modify-write across requests).
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def locked_until(self, key: str) -> int | None:
        """None when the key has no failures on record; else the end of its lock (0: not locked)."""
        row = await self.db.first("SELECT locked_until FROM login_failures WHERE key = ?", key)
        return None if row is None else int(row["locked_until"])

    async def record_failure(
        self, key: str, now: int, *, window: int, max_failures: int, lockout: int, lockout_max: int
    ) -> int:
        """Count one failure in one statement and return the key's lock end (0: not locked).

        A failure after `window_ends` starts a new series. The `max_failures`-th failure of a
        series, and each one after it, locks the key for `lockout` seconds doubled per extra
        failure, at most `lockout_max`; the series then lasts `window` past the lock's end.
        """
        row = await self.db.first(
            "INSERT INTO login_failures (key, failures, window_ends, locked_until) "
            "SELECT ?1, n, "
            "CASE WHEN n >= ?4 THEN ?2 + min(?5 << min(n - ?4, 30), ?6) + ?3 WHEN n = 1 THEN ?2 + ?3 ELSE w END, "
            "CASE WHEN n >= ?4 THEN ?2 + min(?5 << min(n - ?4, 30), ?6) ELSE l END "
            "FROM (SELECT CASE WHEN old.key IS NULL OR ?2 > old.window_ends THEN 1 ELSE old.failures + 1 END AS n, "
            "old.window_ends AS w, coalesce(old.locked_until, 0) AS l "
            "FROM (SELECT 1) LEFT JOIN login_failures AS old ON old.key = ?1) WHERE true "
            "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_ends = excluded.window_ends, "
            "locked_until = excluded.locked_until RETURNING locked_until",
            key,
            now,
            window,
            max_failures,
            lockout,
            lockout_max,
        )
        return int(row["locked_until"]) if row else 0

    async def clear(self, key: str) -> None:
        await self.db.run("DELETE FROM login_failures WHERE key = ?", key)

    async def forget_stale(self, now: int) -> int:
        """Counters whose series is over (nothing counts any more): the cron's clean-up."""
        return await self.db.run("DELETE FROM login_failures WHERE window_ends < ? AND locked_until < ?", now, now)


@dataclass(frozen=True)
class ErasureStepRow:
    name: str
    status: str
    attempts: int
    started_at: str
    finished_at: str | None
    error: str | None


@dataclass(frozen=True)
class ErasureRow:
    user_id: str
    instance_id: str
    created_at: str
    finished_at: str | None


class ErasureRepository:
    """The journal of each account's erasure: one row per erasure, one per step that started.

    Every write is a single statement that a retried or replayed step can repeat."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, user_id: str, instance_id: str, created_at: str) -> None:
        await self.db.run(
            "INSERT INTO erasures (user_id, instance_id, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET instance_id = excluded.instance_id, "
            "created_at = excluded.created_at, finished_at = NULL",
            user_id,
            instance_id,
            created_at,
        )

    async def forget(self, user_id: str, created_at: str) -> None:
        """Undo `start` (its instance could not be created)."""
        await self.db.run("DELETE FROM erasures WHERE user_id = ? AND created_at = ?", user_id, created_at)

    async def get(self, user_id: str) -> ErasureRow | None:
        row = await self.db.first(
            "SELECT user_id, instance_id, created_at, finished_at FROM erasures WHERE user_id = ?", user_id
        )
        return ErasureRow(row["user_id"], row["instance_id"], row["created_at"], row["finished_at"]) if row else None

    async def steps(self, user_id: str) -> list[ErasureStepRow]:
        rows = await self.db.all(
            "SELECT name, status, attempts, started_at, finished_at, error FROM erasure_steps WHERE user_id = ?",
            user_id,
        )
        return [
            ErasureStepRow(
                row["name"], row["status"], row["attempts"], row["started_at"], row["finished_at"], row["error"]
            )
            for row in rows
        ]

    async def attempt(self, user_id: str, step: str, now: str) -> None:
        """One more attempt of `step` begins (the first one stamps started_at)."""
        await self.db.run(
            "INSERT INTO erasure_steps (user_id, name, status, attempts, started_at) VALUES (?, ?, 'running', 1, ?) "
            "ON CONFLICT (user_id, name) DO UPDATE SET attempts = erasure_steps.attempts + 1, status = 'running', "
            "finished_at = NULL",
            user_id,
            step,
            now,
        )

    async def settle(self, user_id: str, step: str, status: str, now: str, error: str | None = None) -> None:
        """The attempt ended: `complete`, `waiting` (a wait began), `running` (it will be retried)
        or `errored` (no retries left)."""
        finished = now if status in ("complete", "errored") else None
        await self.db.run(
            "UPDATE erasure_steps SET status = ?, finished_at = ?, error = COALESCE(?, error) "
            "WHERE user_id = ? AND name = ?",
            status,
            finished,
            error,
            user_id,
            step,
        )

    async def end_wait(self, user_id: str, step: str, now: str) -> None:
        """The wait `step` is over (only the first call stamps it)."""
        await self.db.run(
            "UPDATE erasure_steps SET status = 'complete', finished_at = ? WHERE user_id = ? AND name = ? "
            "AND status = 'waiting'",
            now,
            user_id,
            step,
        )

    async def finish(self, user_id: str, now: str) -> None:
        """The erasure completed (an errored one is not finished: the sweep restarts it)."""
        await self.db.run("UPDATE erasures SET finished_at = ? WHERE user_id = ? AND finished_at IS NULL", now, user_id)

    async def stuck(self, overdue_before: str, limit: int) -> list[ErasureRow]:
        """Unfinished erasures that errored, or started before `overdue_before` (they should be
        done by now), oldest first."""
        rows = await self.db.all(
            "SELECT user_id, instance_id, created_at FROM erasures e WHERE finished_at IS NULL AND (created_at < ? "
            "OR EXISTS (SELECT 1 FROM erasure_steps s WHERE s.user_id = e.user_id AND s.status = 'errored')) "
            "ORDER BY created_at LIMIT ?",
            overdue_before,
            limit,
        )
        return [ErasureRow(row["user_id"], row["instance_id"], row["created_at"], None) for row in rows]

    async def deleted_without_erasure(self, limit: int) -> list[tuple[str, str]]:
        """(user id, deleted_at) of soft-deleted accounts no erasure was started for (deleted by
        a release before erasures existed), oldest first."""
        rows = await self.db.all(
            "SELECT id, deleted_at FROM users WHERE deleted_at IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM erasures WHERE erasures.user_id = users.id) ORDER BY deleted_at LIMIT ?",
            limit,
        )
        return [(row["id"], row["deleted_at"]) for row in rows]
