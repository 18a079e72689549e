"""Account erasure, orchestrated: one Workflow instance per deleted account.

`DELETE /api/users/{id}` soft-deletes the account (it can no longer log in or be read)
and starts instance `erase-<user id>` (`ErasureService.start`); the instance then runs
these steps (`AccountErasure.run`), each retried with exponential backoff by the engine:

1. cancel open orders: the orders service closes the account (again: the gateway did
   before the 204) and cancels its open orders;
2. wait out retention: the time left of `USER_PURGE_AFTER_SECONDS` after the DELETE,
   computed once (a step's result is kept) and then slept durably (`step.sleep`);
3. purge account: the account row, its sessions and refresh tokens, and its cached profile;
4. strip personal data from orders: its orders keep their contents under a pseudonym.

Every step is idempotent, so a retry or a replay after a crash applies nothing twice: the
orders statements touch only what is still open or still named, the purge deletes only what
is there. A step that the engine already completed is answered from its cache and never
runs again. Each attempt runs in the trace of the DELETE (`Telemetry.step`: one data point
per attempt) and is journaled (`ErasureRepository`), which is what
`GET /api/admin/erasures/{user_id}` shows beside the instance's own status.
"""

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from contracts.erasures import OrdersCancelled, OrdersErased
from contracts.internal import CANCEL_ACCOUNT_ORDERS_PATH, ERASE_ACCOUNT_ORDERS_PATH
from shared import clock
from shared.adapters.kv import KvCache
from shared.adapters.services import ServiceClient
from shared.adapters.workflows import Workflows
from shared.errors import NotFound, describe
from shared.identity import USER, Identity, require_admin
from shared.logging import Logger
from shared.maintenance import Counts
from shared.telemetry import Telemetry
from shared.tracing import TRACE_FIELDS
from users.repository import ErasureRepository, ErasureRow, ErasureStepRow, UserRepository

WORKFLOW = "account-erasure"  # the data points' route
CANCEL, WAIT, PURGE, STRIP = (
    "cancel open orders",
    "wait out retention",
    "purge account",
    "strip personal data from orders",
)
STEPS = (CANCEL, WAIT, PURGE, STRIP)
NO_ERASURE = "No erasure for this account"
SWEEP_BATCH = 20  # erasures restarted (or started) per cron run at most
OVERDUE_GRACE_SECONDS = 24 * 3600  # an erasure unfinished this long after its retention is stuck


def instance_id(user_id: str) -> str:
    """One instance per account: a second start of the same account names the same instance."""
    return f"erase-{user_id}"


@dataclass(frozen=True)
class ErasureParams:
    """The instance's params: all a step needs, fixed when the erasure starts. The binding
    adds the trace of the unit of work that started it (`traceparent`, `tracestate`)."""

    user_id: str
    deleted_at: str
    purge_after_seconds: int
    request_id: str
    trace: dict[str, str] = field(default_factory=dict, compare=False)

    def as_params(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "trace"}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "ErasureParams":
        return cls(
            str(params["user_id"]),
            str(params["deleted_at"]),
            int(params["purge_after_seconds"]),
            str(params.get("request_id") or "-"),
            {name: str(params[name]) for name in TRACE_FIELDS if params.get(name)},
        )

    def purge_at(self) -> datetime:
        return datetime.fromisoformat(self.deleted_at) + timedelta(seconds=self.purge_after_seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Each step's retries: `limit` more attempts after the first, `delay_seconds` doubling."""

    limit: int = 5
    delay_seconds: int = 10

    def step_config(self) -> dict[str, Any]:
        return {
            "retries": {"limit": self.limit, "delay": f"{self.delay_seconds} seconds", "backoff": "exponential"},
            "timeout": "2 minutes",
        }


class OrdersAccounts(Protocol):
    async def cancel_open_orders(self, user_id: str) -> int: ...

    async def erase_orders(self, user_id: str) -> int: ...


class OrdersAccountsClient(OrdersAccounts):
    """The orders service's internal account routes, over the `ORDERS` service binding."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def _post(self, path: str, user_id: str) -> bytes:
        headers = Identity(user_id, USER).as_headers()  # the erasure acts for the deleted account
        answer = await self.client.request("POST", path.format(user_id=user_id), headers)
        if answer.status != 200:
            raise RuntimeError(f"orders answered {answer.status} to {path}")
        return answer.body

    async def cancel_open_orders(self, user_id: str) -> int:
        return OrdersCancelled.model_validate_json(await self._post(CANCEL_ACCOUNT_ORDERS_PATH, user_id)).cancelled

    async def erase_orders(self, user_id: str) -> int:
        return OrdersErased.model_validate_json(await self._post(ERASE_ACCOUNT_ORDERS_PATH, user_id)).orders


class ErasureSteps:
    """What each step does; each is safe to run again."""

    def __init__(
        self,
        journal: ErasureRepository,
        users: UserRepository,
        cache: KvCache,
        orders: OrdersAccounts,
        cache_key: Callable[[str], str],
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.journal = journal
        self.users = users
        self.cache = cache
        self.orders = orders
        self.cache_key = cache_key
        self._now = now

    async def cancel_open_orders(self, params: ErasureParams) -> int:
        return await self.orders.cancel_open_orders(params.user_id)

    async def begin_wait(self, params: ErasureParams) -> int:
        """Whole seconds of retention left (0 when it is over: a restarted erasure does not wait again)."""
        return max(0, int((params.purge_at() - self._now()).total_seconds() + 0.999))

    async def purge_account(self, params: ErasureParams) -> bool:
        await self.journal.end_wait(params.user_id, WAIT, clock.iso(self._now()))
        purged = await self.users.purge(params.user_id)
        await self.cache.delete(self.cache_key(params.user_id))
        return purged

    async def strip_orders(self, params: ErasureParams) -> int:
        return await self.orders.erase_orders(params.user_id)


Work = Callable[[ErasureParams], Awaitable[Any]]


class AccountErasure:
    """The orchestration: the steps in order on the engine's `step` (the SDK's wrapper)."""

    def __init__(
        self,
        steps: ErasureSteps,
        journal: ErasureRepository,
        telemetry: Telemetry,
        retry: RetryPolicy,
        log: Logger,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.steps = steps
        self.journal = journal
        self.telemetry = telemetry
        self.retry = retry
        self.log = log
        self._now = now
        self._errored: set[str] = set()  # steps this run has journaled `errored`

    async def run(self, params: ErasureParams, step: Any) -> dict[str, Any]:
        self._errored.clear()
        current = CANCEL
        try:
            cancelled = await self._do(step, params, CANCEL, self.steps.cancel_open_orders)
            current = WAIT
            seconds = await self._do(step, params, WAIT, self.steps.begin_wait, settles_as="waiting")
            if seconds > 0:
                await step.sleep("retention", f"{seconds} seconds")
            current = PURGE
            await self._do(step, params, PURGE, self.steps.purge_account)
            current = STRIP
            erased = await self._do(step, params, STRIP, self.steps.strip_orders)
        except Exception as error:
            # The engine gave up on `current` (its retries are spent): the instance errors. The
            # journal says so too, so the status shows where, and the cron's sweep restarts it.
            await self._journal_errored(params.user_id, current, error)
            raise
        return {"user_id": params.user_id, "orders_cancelled": cancelled, "orders_erased": erased}

    async def _do(self, step: Any, params: ErasureParams, name: str, work: Work, settles_as: str = "complete") -> Any:
        @step.do(name, config=self.retry.step_config())  # type: ignore[untyped-decorator]  # the SDK's, untyped
        async def attempt(ctx: Any) -> Any:
            return await self.telemetry.step(
                WORKFLOW,
                name,
                params.trace,
                params.request_id,
                lambda: self._journaled(params, name, ctx, work, settles_as),
            )

        return await attempt()

    async def _journaled(self, params: ErasureParams, name: str, ctx: Any, work: Work, settles_as: str) -> Any:
        user_id, attempt = params.user_id, _attempt_of(ctx)
        log = self.log.bind(user_id=user_id, step=name, attempt=attempt, request_id=params.request_id)
        await self.journal.attempt(user_id, name, clock.iso(self._now()))
        try:
            result = await work(params)
        except Exception as error:
            if attempt > self.retry.limit:  # stuck until the cron's sweep restarts it: an operator should know
                await self._journal_errored(user_id, name, error)
                log.exception("erasure step failed; no retries left", error)
            else:  # expected while a service is down: the engine retries it with backoff
                await self.journal.settle(user_id, name, "running", self._stamp(), describe(error))
                log.warning("erasure step failed; it will be retried", reason=describe(error))
            raise
        await self.journal.settle(user_id, name, settles_as, self._stamp())
        if name == STEPS[-1]:
            await self.journal.finish(user_id, self._stamp())
        log.info("erasure step done", result=result)
        return result

    async def _journal_errored(self, user_id: str, name: str, error: Exception) -> None:
        """Once per step and run: by its last attempt, or by run() when the engine gave up on a
        step whose attempts did not fail here (their answers were lost)."""
        if name not in self._errored:
            self._errored.add(name)
            await self.journal.settle(user_id, name, "errored", self._stamp(), describe(error))

    def _stamp(self) -> str:
        return clock.iso(self._now())


def _attempt_of(ctx: Any) -> int:
    """The attempt number the engine passes in the step's context (1 for the first)."""
    attempt = ctx.get("attempt") if isinstance(ctx, dict) else None
    return int(attempt) if isinstance(attempt, int | float) else 1


@dataclass(frozen=True)
class ErasureView:
    """An erasure as `contracts.erasures.Erasure` shows it."""

    row: ErasureRow
    steps: list[ErasureStepRow]
    platform: str | None  # the instance's status; None when it does not exist
    platform_error: str | None

    def public(self) -> dict[str, Any]:
        by_name = {step.name: step for step in self.steps}
        errored = next((s for s in self.steps if s.status == "errored"), None)
        status = self.status(errored)
        steps = [_public_step(name, by_name.get(name)) for name in STEPS]
        stopped = errored
        if status == "errored" and errored is None and self.steps:
            # The engine gave up on a step whose own attempts the journal saw succeed (their
            # answers were lost): the step it stopped at is the last one that started.
            stopped = max(self.steps, key=lambda step: step.started_at)
            steps[STEPS.index(stopped.name)]["status"] = "errored"
        return {
            "user_id": self.row.user_id,
            "status": status,
            "steps": steps,
            "created_at": self.row.created_at,
            "finished_at": self.row.finished_at or (stopped.finished_at if stopped and status == "errored" else None),
            "error": self.error(status, errored),
        }

    def status(self, errored: ErasureStepRow | None) -> str:
        """The platform's word first; miniflare never says `waiting`, so the journal's wait also counts."""
        if self.platform == "complete" or self.row.finished_at:
            return "complete"
        if self.platform in ("errored", "terminated", None) or errored is not None:
            return "errored"
        waiting = any(step.name == WAIT and step.status == "waiting" for step in self.steps)
        return "waiting" if self.platform == "waiting" or waiting else "running"

    def error(self, status: str, errored: ErasureStepRow | None) -> str | None:
        """Why an erasure whose `status` (from `status()`) is `errored` stopped; None otherwise."""
        if status != "errored":
            return None
        if errored is not None and errored.error:
            return f"{errored.name}: {errored.error}"
        if self.platform_error:
            return _last_line(self.platform_error)
        return "the workflow instance no longer exists" if self.platform is None else self.platform


def _public_step(name: str, row: ErasureStepRow | None) -> dict[str, Any]:
    if row is None:
        return {"name": name, "status": "pending", "attempts": 0, "started_at": None, "finished_at": None}
    return {
        "name": name,
        "status": row.status,
        "attempts": row.attempts,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def _last_line(text: str) -> str:
    """A Python error's own line, not its traceback."""
    lines = [line for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else text)[:500]


class ErasureService:
    """Starting erasures, reading their status, and the cron's sweep of stuck ones."""

    def __init__(
        self,
        journal: ErasureRepository,
        workflows: Workflows,
        purge_after_seconds: int,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.journal = journal
        self.workflows = workflows
        self.purge_after_seconds = purge_after_seconds
        self._now = now

    async def start(self, user_id: str, deleted_at: str, request_id: str) -> None:
        """Journal it and create its instance; if the instance cannot be created, the journal
        entry goes again and the error is raised (the caller undoes the soft delete)."""
        params = self._params(user_id, deleted_at, request_id)
        name = instance_id(user_id)
        await self.journal.start(user_id, name, deleted_at)
        try:
            await self.workflows.create(name, params.as_params())
        except Exception:
            if await self._exists(name):  # created after all (its answer was lost): it is this erasure
                return
            await self.journal.forget(user_id, deleted_at)
            raise

    async def _exists(self, name: str) -> bool:
        try:
            return await self.workflows.status(name) is not None
        except Exception:  # noqa: BLE001 - the binding still failing: the instance is taken as absent
            return False

    async def status(self, caller: Identity, user_id: str) -> ErasureView:
        require_admin(caller, "read erasures")
        row = await self.journal.get(user_id)
        if row is None:
            raise NotFound(NO_ERASURE)
        instance = await self.workflows.status(row.instance_id)
        return ErasureView(
            row,
            await self.journal.steps(user_id),
            instance.status if instance else None,
            instance.error if instance else None,
        )

    async def sweep(self, now: datetime, counts: Counts) -> None:
        """The safety net: restart erasures that errored (a missing instance is created again),
        and start one for accounts soft-deleted without one (by the release before erasures)."""
        overdue = now - timedelta(seconds=self.purge_after_seconds + OVERDUE_GRACE_SECONDS)
        counts["erasures_restarted"] = counts["erasures_started"] = 0
        for row in await self.journal.stuck(clock.iso(overdue), SWEEP_BATCH):
            instance = await self.workflows.status(row.instance_id)
            if instance is None:
                await self.workflows.create(row.instance_id, self._params(row.user_id, row.created_at).as_params())
            elif instance.status in ("errored", "terminated"):
                await self.workflows.restart(row.instance_id)
            else:
                continue
            counts["erasures_restarted"] += 1
        for user_id, deleted_at in await self.journal.deleted_without_erasure(SWEEP_BATCH):
            await self.start(user_id, deleted_at, "-")
            counts["erasures_started"] += 1

    def _params(self, user_id: str, deleted_at: str, request_id: str = "-") -> ErasureParams:
        """An erasure's params (`request_id` "-": started by the cron, not by a request)."""
        return ErasureParams(user_id, deleted_at, self.purge_after_seconds, request_id)
