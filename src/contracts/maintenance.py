"""Scheduled maintenance run summaries: each service records its own, the gateway merges them."""

from typing import Annotated

from pydantic import BaseModel, Field

from contracts.users import Timestamp


class MaintenanceRun(BaseModel):
    id: str
    worker: Annotated[str, Field(examples=["users"])]
    job: Annotated[str, Field(examples=["users-maintenance"])]
    cron: Annotated[str, Field(examples=["0 3 * * *"])]
    started_at: Timestamp
    finished_at: Timestamp
    counts: Annotated[
        dict[str, int],
        Field(description="Items handled per task", examples=[{"erasures_started": 1, "refresh_tokens_forgotten": 12}]),
    ]
    errors: Annotated[list[str], Field(description="What failed; empty when the run succeeded")]


class MaintenanceRunPage(BaseModel):
    items: list[MaintenanceRun]
