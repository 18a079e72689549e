"""The users worker's SQL, over the `Database` protocol (D1 in the runtime, SQLite in tests).

Only this module knows table and column names. "Live" means not soft-deleted.
"""

from shared.adapters.crypto import PasswordHash
from shared.adapters.d1 import Database, Row
from users.domain import UserRecord

_USER_COLUMNS = (
    "id, email, name, role, password_hash, password_salt, password_iterations, created_at, updated_at, deleted_at"
)


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

    async def get_by_email(self, email: str) -> UserRecord | None:
        row = await self.db.first(f"SELECT {_USER_COLUMNS} FROM users WHERE email = ? AND deleted_at IS NULL", email)
        return _user(row) if row else None

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
        """Mark a live user deleted; False when there was none (absent or already deleted)."""
        changed = await self.db.run(
            "UPDATE users SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", deleted_at, user_id
        )
        return changed == 1

    async def undo_soft_delete(self, user_id: str, deleted_at: str) -> bool:
        """Revert exactly the soft delete stamped `deleted_at` (a compensation, not a feature)."""
        changed = await self.db.run(
            "UPDATE users SET deleted_at = NULL WHERE id = ? AND deleted_at = ?", user_id, deleted_at
        )
        return changed == 1

    async def purge_deleted_before(self, cutoff: str, limit: int) -> list[str]:
        """Hard-delete up to `limit` users soft-deleted before `cutoff`, oldest first: one statement.

        The ids it deleted come back (RETURNING), so the caller can drop their cache entries.
        """
        rows = await self.db.all(
            "DELETE FROM users WHERE id IN (SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at < ? "
            "ORDER BY deleted_at LIMIT ?) RETURNING id",
            cutoff,
            limit,
        )
        return [row["id"] for row in rows]
