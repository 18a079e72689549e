"""Account erasure: its status as admins read it, and the orders service's part of it.

The users worker runs the erasure (a Workflow, `users.erasure`); the gateway forwards
`GET /api/admin/erasures/{user_id}` to it. The orders service answers the erasure's
internal calls (`contracts.internal`) with the counts below.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.users import Timestamp

ErasureState = Literal["running", "waiting", "complete", "errored"]
StepState = Literal["pending", "running", "waiting", "complete", "errored"]

_EXAMPLE: dict[str, Any] = {
    "user_id": "usr_01a23ad013a023b8259231c1",
    "status": "waiting",
    "steps": [
        {
            "name": "cancel open orders",
            "status": "complete",
            "attempts": 1,
            "started_at": "2026-09-08T12:00:00.120Z",
            "finished_at": "2026-09-08T12:00:00.180Z",
        },
        {
            "name": "wait out retention",
            "status": "waiting",
            "attempts": 1,
            "started_at": "2026-09-08T12:00:00.200Z",
            "finished_at": None,
        },
        {"name": "purge account", "status": "pending", "attempts": 0, "started_at": None, "finished_at": None},
        {
            "name": "strip personal data from orders",
            "status": "pending",
            "attempts": 0,
            "started_at": None,
            "finished_at": None,
        },
    ],
    "created_at": "2026-09-08T12:00:00.100Z",
    "finished_at": None,
    "error": None,
}


class ErasureStep(BaseModel):
    name: Annotated[str, Field(examples=["cancel open orders"])]
    status: Annotated[StepState, Field(description="`pending` until its first attempt")]
    attempts: Annotated[int, Field(ge=0, description="Attempts that ran (a retry after a failure is one more)")]
    started_at: Annotated[str | None, Field(description="RFC 3339 UTC, its first attempt")]
    finished_at: Annotated[str | None, Field(description="RFC 3339 UTC, when it completed or failed for good")]


class Erasure(BaseModel):
    """`GET /api/admin/erasures/{user_id}`: one deleted account's erasure workflow."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    user_id: str
    status: Annotated[
        ErasureState, Field(description="`waiting` while the retention period runs; `errored` once a step gave up")
    ]
    steps: Annotated[list[ErasureStep], Field(description="Every step in order, those not reached yet `pending`")]
    created_at: Annotated[Timestamp, Field(description="When the DELETE started it")]
    finished_at: Annotated[str | None, Field(description="RFC 3339 UTC, when it completed or errored")]
    error: Annotated[str | None, Field(description="Why it errored: the failed step's last error; else null")] = None


class OrdersCancelled(BaseModel):
    """The orders service's answer to the erasure's first step: the account is closed and
    its open orders cancelled (`cancelled` of them by this call: 0 on a retry)."""

    cancelled: int


class OrdersErased(BaseModel):
    """The orders service's answer to the erasure's last step: `orders` of the account's
    orders no longer name it (0 on a retry)."""

    orders: int
