"""The users worker written the common FastAPI way (benchmark only): the routes the
benchmark drives, served through the SDK's ASGI adapter (`workers.asgi`)."""

from typing import Annotated, Any

from fastapi import Depends, Response
from fastapi_common import Caller, ServiceWorker, build_fastapi, per_isolate, service_worker
from workers import asgi

from contracts.internal import HEALTH_PATH, LOGIN_PATH
from contracts.users import LoginRequest, SessionGrant, User
from users.app import WORKER, build_context
from users.context import UsersContext

Worker = Annotated[ServiceWorker[UsersContext], Depends(per_isolate(service_worker(build_context)))]
app = build_fastapi()


@app.get(HEALTH_PATH)
async def health(worker: Worker) -> dict[str, str]:
    await worker.db.first("SELECT 1 AS ok")
    return {"status": "ok", "worker": WORKER}


@app.post(LOGIN_PATH, response_model=SessionGrant)
async def login(body: LoginRequest, worker: Worker) -> Any:
    grant = await worker.ctx.users.login(body.email, body.password)
    return grant.public()


@app.get("/api/users/{user_id}", response_model=User)
async def get_user(user_id: str, caller: Caller, worker: Worker, response: Response) -> Any:
    found = await worker.ctx.users.get_user(caller, user_id)
    response.headers["X-Cache"] = "HIT" if found.cache_hit else "MISS"
    return found.user


Default = asgi.entrypoint(app)
