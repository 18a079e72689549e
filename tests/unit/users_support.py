"""Builders and fakes for the users worker's CPython tests."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.adapters.crypto import PasswordHash, Pbkdf2Hasher
from shared.adapters.kv import WorkersKv
from shared.adapters.workflows import InstanceStatus
from shared.identity import ADMIN, USER, Identity
from shared.logging import Logger
from shared.maintenance import Maintenance
from shared.maintenance_runs import MaintenanceRunRecord, MaintenanceRunRepository
from tests.unit.memory_kv import FakeKvBinding
from tests.unit.sqlite_db import SqliteDatabase
from users.app import MAINTENANCE_JOB, WORKER
from users.erasure import ErasureService
from users.repository import ErasureRepository, UserRepository
from users.service import UsersService, UsersSettings

T = TypeVar("T")
ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """pytest without pytest-asyncio: each test drives its coroutine to the end."""
    return asyncio.run(coroutine)


class Clock:
    """A settable clock; each reading advances 1 ms so timestamps stay distinct and ordered."""

    def __init__(self, start: datetime = datetime(2026, 9, 8, 12, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class CountingHasher(Pbkdf2Hasher):
    """The real PBKDF2 hasher at a low work factor (fast tests), counting derivations."""

    def __init__(self) -> None:
        super().__init__(iterations=1_000)
        self.derivations = 0

    async def hash(self, password: str) -> PasswordHash:
        self.derivations += 1
        return await super().hash(password)

    async def verify(self, password: str, stored: PasswordHash) -> bool:
        self.derivations += 1
        return await super().verify(password, stored)


class MemoryWorkflows:
    """A Workflow binding's instances in memory (`shared.adapters.workflows.Workflows`): what
    was created with which params, each one's status, and the restarts."""

    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, InstanceStatus] = {}
        self.restarted: list[str] = []
        self.fail = False

    async def create(self, instance_id: str, params: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("workflows unavailable")
        if instance_id in self.created:
            raise RuntimeError("instance.already_exists")
        self.created[instance_id] = params
        self.statuses[instance_id] = InstanceStatus("queued", None)

    async def status(self, instance_id: str) -> InstanceStatus | None:
        return self.statuses.get(instance_id)

    async def restart(self, instance_id: str) -> None:
        self.restarted.append(instance_id)
        self.statuses[instance_id] = InstanceStatus("queued", None)


@dataclass
class World:
    """A users service on real SQLite with in-memory KV and workflows, plus handles to inspect them."""

    db: SqliteDatabase = field(default_factory=lambda: SqliteDatabase("users"))
    kv: FakeKvBinding = field(default_factory=FakeKvBinding)
    workflows: MemoryWorkflows = field(default_factory=MemoryWorkflows)
    hasher: CountingHasher = field(default_factory=CountingHasher)
    clock: Clock = field(default_factory=Clock)
    settings: UsersSettings = field(
        default_factory=lambda: UsersSettings(
            admin_emails=frozenset({ADMIN_EMAIL}), cache_ttl_seconds=300, purge_after_seconds=3600
        )
    )

    def __post_init__(self) -> None:
        self.repo = UserRepository(self.db)
        self.journal = ErasureRepository(self.db)
        self.erasures = ErasureService(self.journal, self.workflows, self.settings.purge_after_seconds, self.clock)
        self.service = UsersService(
            self.repo, WorkersKv(self.kv), self.erasures, self.settings, self.hasher, self.clock
        )
        self.maintenance = Maintenance(MaintenanceRunRepository(self.db), WORKER, self.clock)

    async def maintain(self, cron: str) -> MaintenanceRunRecord:
        """One scheduled run, as `users.app.run_scheduled` does it."""
        tasks = {**self.service.maintenance_tasks(), "restart_stuck_erasures": self.erasures.sweep}
        return await self.maintenance.run(MAINTENANCE_JOB, cron, tasks, Logger(worker=WORKER))

    async def register(self, email: str, name: str = "Someone", password: str = PASSWORD) -> Identity:
        user = await self.service.register(email, password, name)
        return Identity(user.id, user.role)

    async def admin(self) -> Identity:
        return await self.register(ADMIN_EMAIL, "Admin")


def as_user(user_id: str) -> Identity:
    return Identity(user_id, USER)


def as_admin(user_id: str = "usr_admin") -> Identity:
    return Identity(user_id, ADMIN)


class FakeD1Binding:
    """The D1 binding's surface that `shared.adapters.d1.D1` uses, over a `SqliteDatabase`:
    lets CPython tests build the worker from an env exactly as the runtime does."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def prepare(self, sql: str) -> "_FakeStatement":
        return _FakeStatement(self.db, sql, ())

    async def batch(self, statements: list["_FakeStatement"]) -> list[dict[str, Any]]:
        changes = await self.db.batch([(s.sql, s.params) for s in statements])
        return [{"results": [], "meta": {"changes": n}} for n in changes]


@dataclass
class _FakeStatement:
    db: SqliteDatabase
    sql: str
    params: tuple[Any, ...]

    def bind(self, *params: Any) -> "_FakeStatement":
        return _FakeStatement(self.db, self.sql, params)

    async def all(self) -> dict[str, Any]:
        return {"results": await self.db.all(self.sql, *self.params), "meta": {"changes": 0}}

    async def run(self) -> dict[str, Any]:
        return {"results": [], "meta": {"changes": await self.db.run(self.sql, *self.params)}}
