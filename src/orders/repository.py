"""All of the orders worker's SQL, over the `Database` protocol (D1 in the runtime,
SQLite in tests).

State changes that race (confirm, cancel, expire, claim) are single conditional
statements whose changed-row count tells the caller whether it won: D1 runs each
statement atomically, so no read-then-write window exists.
"""

import json
from dataclasses import dataclass
from typing import Any

from orders.domain import DeadLetterRecord, LineItem, OrderRecord
from shared.adapters.d1 import Database, Row, Statement
from shared.http import encode_json

_ORDER_COLUMNS = "id, user_id, status, items, total_cents, currency, created_at, updated_at"
# Appended to a write's WHERE with the user id as its parameter: the write happens only
# for an open account (a primary-key probe inside a statement already being paid for).
_ACCOUNT_OPEN = "NOT EXISTS (SELECT 1 FROM closed_accounts WHERE user_id = ?)"


def _json(value: Any) -> str:
    return encode_json(value)


def _order(row: Row, items: list[dict[str, Any]] | None = None) -> OrderRecord:
    """The order in `row`; `items`: its items column already parsed (`_orders`)."""
    return OrderRecord(
        id=row["id"],
        user_id=row["user_id"],
        status=row["status"],
        items=tuple(LineItem(**item) for item in (json.loads(row["items"]) if items is None else items)),
        total_cents=row["total_cents"],
        currency=row["currency"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _orders(rows: list[Row]) -> list[OrderRecord]:
    """A page of rows as orders, every row's items column (a JSON array we wrote) parsed in one
    `json.loads`: a page's 20 decoder calls cost it about 50 us in Pyodide, one costs 18."""
    if not rows:
        return []
    items = json.loads(f"[{','.join([row['items'] for row in rows])}]")
    return [_order(row, row_items) for row, row_items in zip(rows, items, strict=True)]


@dataclass(frozen=True)
class OrderEventSource:
    """What an order.created event is built from (the same event every time it is published)."""

    order_id: str
    user_id: str
    event_id: str
    request_id: str | None
    created_at: str


@dataclass(frozen=True)
class DeliveryState:
    status: str
    notified_at: str | None


class AccountRepository:
    """Accounts closed by their deletion: the orders service's own copy of that fact."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self, user_id: str, closed_at: str) -> None:
        """Idempotent: the gateway, the erasure's first step (and the retired user.deleted
        consumer) all close the account."""
        await self.db.run(
            "INSERT INTO closed_accounts (user_id, closed_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
            user_id,
            closed_at,
        )

    async def is_closed(self, user_id: str) -> bool:
        return await self.db.first("SELECT 1 AS closed FROM closed_accounts WHERE user_id = ?", user_id) is not None


class OrderRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def insert_statement(order: OrderRecord, *, event_id: str, request_id: str | None) -> Statement:
        """Inserts nothing (0 rows changed) when the order's account is closed."""
        items = _json(order.public()["items"])
        return (
            f"INSERT INTO orders ({_ORDER_COLUMNS}, request_id, event_id) "
            f"SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE {_ACCOUNT_OPEN}",
            (
                order.id,
                order.user_id,
                order.status,
                items,
                order.total_cents,
                order.currency,
                order.created_at,
                order.updated_at,
                request_id,
                event_id,
                order.user_id,
            ),
        )

    async def get(self, order_id: str) -> OrderRecord | None:
        row = await self.db.first(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", order_id)
        return _order(row) if row else None

    async def page(
        self, *, user_id: str | None, status: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[OrderRecord]:
        """Newest first by (created_at, id); `after` is the last key of the previous page."""
        where: list[str] = []
        params: list[Any] = []
        if user_id is not None:
            where.append("user_id = ?")
            params.append(user_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if after is not None:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([after[0], after[0], after[1]])
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        sql = f"SELECT {_ORDER_COLUMNS} FROM orders {clause}ORDER BY created_at DESC, id DESC LIMIT ?"
        return _orders(await self.db.all(sql, *params, limit))

    async def cancel(self, order_id: str, now: str, *, owner: str | None = None) -> OrderRecord | None:
        """pending|confirmed -> cancelled, and the cancelled order; None when nothing changed:
        no such order, in another state, or (with `owner`) not that open account's order."""
        guard = f" AND user_id = ? AND {_ACCOUNT_OPEN}" if owner is not None else ""
        params = (owner, owner) if owner is not None else ()
        row = await self.db.first(
            "UPDATE orders SET status = 'cancelled', updated_at = ? "
            f"WHERE id = ? AND status IN ('pending', 'confirmed'){guard} RETURNING {_ORDER_COLUMNS}",
            now,
            order_id,
            *params,
        )
        return _order(row) if row else None

    async def confirm(self, order_id: str, now: str) -> bool:
        """pending -> confirmed; False on a redelivery (already confirmed) or a closed order."""
        changed = await self.db.run(
            "UPDATE orders SET status = 'confirmed', updated_at = ? WHERE id = ? AND status = 'pending'",
            now,
            order_id,
        )
        return changed == 1

    async def cancel_open_for_user(self, user_id: str, now: str) -> int:
        return await self.db.run(
            "UPDATE orders SET status = 'cancelled', updated_at = ? "
            "WHERE user_id = ? AND status IN ('pending', 'confirmed')",
            now,
            user_id,
        )

    async def erase_user(self, user_id: str, pseudonym: str, now: str) -> int:
        """The account's orders no longer name it: their user id becomes `pseudonym` and their
        request ids (which the logs know) are dropped; its idempotency records (their stored
        answers name it) go, and so does the user id in its dead letters' bodies. One batch,
        so a retry finds either everything done (0 orders) or nothing."""
        changed, *_ = await self.db.batch(
            [
                (
                    "UPDATE orders SET user_id = ?, request_id = NULL, updated_at = ? WHERE user_id = ?",
                    (pseudonym, now, user_id),
                ),
                ("DELETE FROM idempotency_keys WHERE user_id = ?", (user_id,)),
                (
                    "UPDATE dead_letters SET body = json_set(body, '$.user_id', ?) "
                    "WHERE json_extract(body, '$.user_id') = ?",
                    (pseudonym, user_id),
                ),
            ]
        )
        return changed

    async def expire_pending(self, created_before: str, now: str) -> int:
        return await self.db.run(
            "UPDATE orders SET status = 'expired', updated_at = ? WHERE status = 'pending' AND created_at < ?",
            now,
            created_before,
        )

    async def mark_published(self, order_id: str, now: str) -> None:
        await self.db.run("UPDATE orders SET published_at = ? WHERE id = ? AND published_at IS NULL", now, order_id)

    async def unpublished(self, created_before: str, limit: int) -> list[OrderEventSource]:
        """Pending orders whose order.created never reached the queue (oldest first)."""
        rows = await self.db.all(
            "SELECT id, user_id, event_id, request_id, created_at FROM orders "
            "WHERE status = 'pending' AND published_at IS NULL AND created_at < ? "
            "ORDER BY created_at, id LIMIT ?",
            created_before,
            limit,
        )
        return [
            OrderEventSource(row["id"], row["user_id"], row["event_id"], row["request_id"], row["created_at"])
            for row in rows
        ]

    async def delivery_state(self, order_id: str) -> DeliveryState | None:
        row = await self.db.first("SELECT status, notified_at FROM orders WHERE id = ?", order_id)
        return DeliveryState(row["status"], row["notified_at"]) if row else None

    async def mark_notified(self, order_id: str, now: str) -> None:
        await self.db.run("UPDATE orders SET notified_at = ? WHERE id = ? AND notified_at IS NULL", now, order_id)


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    state: str
    response_status: int | None
    response_body: str | None


class IdempotencyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, user_id: str, key: str, request_hash: str, now: str, stale_before: str) -> bool:
        """Take the key for this request; True for exactly one of any number of concurrent claims.

        The primary key (user_id, key) makes the INSERT succeed once. The DO UPDATE branch
        only takes over a claim left `in_flight` by a request that died (older than
        `stale_before`) for the same body; a live or finished claim is never touched.
        """
        changed = await self.db.run(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at) "
            "VALUES (?, ?, ?, 'in_flight', ?) "
            "ON CONFLICT (user_id, key) DO UPDATE SET created_at = excluded.created_at "
            "WHERE idempotency_keys.state = 'in_flight' AND idempotency_keys.created_at < ? "
            "AND idempotency_keys.request_hash = excluded.request_hash",
            user_id,
            key,
            request_hash,
            now,
            stale_before,
        )
        return changed == 1

    async def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        row = await self.db.first(
            "SELECT request_hash, state, response_status, response_body FROM idempotency_keys "
            "WHERE user_id = ? AND key = ?",
            user_id,
            key,
        )
        if row is None:
            return None
        return IdempotencyRecord(row["request_hash"], row["state"], row["response_status"], row["response_body"])

    @staticmethod
    def complete_statement(user_id: str, key: str, status: int, body: dict[str, Any]) -> Statement:
        """Mark the claim done with the response to replay; batched with the order's INSERT
        (and, like it, a no-op for a closed account, so no answer is stored for an order never made)."""
        sql = (
            "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? "
            f"WHERE user_id = ? AND key = ? AND state = 'in_flight' AND {_ACCOUNT_OPEN}"
        )
        return sql, (status, _json(body), user_id, key, user_id)

    async def release(self, user_id: str, key: str) -> None:
        """Drop an unfinished claim so the client may retry with the same key."""
        await self.db.run(
            "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND state = 'in_flight'", user_id, key
        )

    async def forget_older_than(self, created_before: str) -> int:
        return await self.db.run("DELETE FROM idempotency_keys WHERE created_at < ?", created_before)


@dataclass(frozen=True)
class DeliveryFailure:
    attempts: int
    last_error: str


class DeliveryFailureRepository:
    """The last failure per event, so a dead letter can say why it died."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, event_id: str, queue: str, error: str, now: str) -> None:
        await self.db.run(
            "INSERT INTO delivery_failures (event_id, queue, attempts, last_error, updated_at) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET attempts = delivery_failures.attempts + 1, "
            "last_error = excluded.last_error, updated_at = excluded.updated_at",
            event_id,
            queue,
            error,
            now,
        )

    async def get(self, event_id: str) -> DeliveryFailure | None:
        row = await self.db.first("SELECT attempts, last_error FROM delivery_failures WHERE event_id = ?", event_id)
        return DeliveryFailure(row["attempts"], row["last_error"]) if row else None

    async def clear(self, event_id: str) -> None:
        await self.db.run("DELETE FROM delivery_failures WHERE event_id = ?", event_id)


class DeadLetterRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, letter: DeadLetterRecord) -> bool:
        """Store a dead letter once; False when this message id was already recorded."""
        changed = await self.db.run(
            "INSERT INTO dead_letters (id, queue, body, attempts, last_error, time) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            letter.id,
            letter.queue,
            _json(letter.body),
            letter.attempts,
            letter.last_error,
            letter.time,
        )
        return changed == 1

    async def waiting(self, after: tuple[str, str] | None, limit: int) -> list[DeadLetterRecord]:
        """Not yet replayed, newest first by (time, id); `after` is the last key of the previous page."""
        where, params = "", []
        if after is not None:
            where, params = "AND (time < ? OR (time = ? AND id < ?)) ", [after[0], after[0], after[1]]
        rows = await self.db.all(
            "SELECT id, queue, body, attempts, last_error, time FROM dead_letters WHERE replayed_at IS NULL "
            f"{where}ORDER BY time DESC, id DESC LIMIT ?",
            *params,
            limit,
        )
        return [self._letter(row) for row in rows]

    async def count_waiting(self) -> int:
        row = await self.db.first("SELECT COUNT(*) AS waiting FROM dead_letters WHERE replayed_at IS NULL")
        return int(row["waiting"]) if row else 0

    async def get(self, letter_id: str) -> DeadLetterRecord | None:
        row = await self.db.first(
            "SELECT id, queue, body, attempts, last_error, time FROM dead_letters WHERE id = ? AND replayed_at IS NULL",
            letter_id,
        )
        return self._letter(row) if row else None

    async def claim_replay(self, letter_id: str, now: str) -> bool:
        """Mark replayed; True for exactly one of concurrent replays of the same letter."""
        changed = await self.db.run(
            "UPDATE dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL", now, letter_id
        )
        return changed == 1

    async def unclaim_replay(self, letter_id: str) -> None:
        await self.db.run("UPDATE dead_letters SET replayed_at = NULL WHERE id = ?", letter_id)

    @staticmethod
    def _letter(row: Row) -> DeadLetterRecord:
        return DeadLetterRecord(
            id=row["id"],
            queue=row["queue"],
            body=json.loads(row["body"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
            time=row["time"],
        )
