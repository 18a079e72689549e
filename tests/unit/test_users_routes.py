"""The users worker over HTTP: `build_app(env)` with D1/KV/queue bindings faked over SQLite and memory."""

import json
from types import SimpleNamespace
from typing import Any

import pytest

from shared.http import HttpRequest, HttpResponse
from shared.identity import ADMIN, Identity
from tests.unit.memory_kv import FakeKvBinding
from tests.unit.sqlite_db import SqliteDatabase
from tests.unit.users_support import FakeD1Binding, run
from users.app import build_app, run_scheduled, settings_from
from users.service import cache_key

PASSWORD = "correct horse battery"


class FakeWorkflowBinding:
    """A Workflow binding: `create({id, params})`, `get(id)` with the instance's `status()`."""

    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}

    async def create(self, options: dict[str, Any]) -> SimpleNamespace:
        self.created[options["id"]] = options["params"]
        return SimpleNamespace(id=options["id"])

    async def get(self, instance_id: str) -> SimpleNamespace:
        if instance_id not in self.created:
            raise RuntimeError("instance.not_found")

        async def status() -> dict[str, Any]:
            return {"status": "running", "error": None, "output": None}

        return SimpleNamespace(id=instance_id, status=status)


@pytest.fixture
def env() -> SimpleNamespace:
    return SimpleNamespace(
        DB=FakeD1Binding(SqliteDatabase("users")),
        PROFILE_CACHE=FakeKvBinding(),
        ERASURES=FakeWorkflowBinding(),
        ADMIN_EMAILS=" Admin@Example.com , ops@example.com,",
        PROFILE_CACHE_TTL_SECONDS="120",
        USER_PURGE_AFTER_SECONDS="3600",
    )


def call(
    env: Any,
    method: str,
    path: str,
    body: Any = None,
    as_: Identity | None = None,
    content_type: str = "application/json",
) -> HttpResponse:
    headers = {"x-request-id": "req-test"}
    if body is not None:
        headers["content-type"] = content_type
    if as_ is not None:
        headers.update(as_.as_headers())
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    request = HttpRequest(method, f"https://internal.invalid{path}", headers, raw, "req-test")
    return run(build_app(env).handle(request))


def register(env: Any, email: str, name: str = "Someone") -> Identity:
    answer = call(env, "POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name})
    assert answer.status == 201, answer.body
    user = answer.json()
    return Identity(user["id"], user["role"])


def test_settings_from_env() -> None:
    settings = settings_from(SimpleNamespace(ADMIN_EMAILS="A@x.io, b@y.io ,", PROFILE_CACHE_TTL_SECONDS="90"))
    assert settings.admin_emails == {"a@x.io", "b@y.io"}
    assert settings.cache_ttl_seconds == 90 and settings.purge_after_seconds == 30 * 24 * 3600


def test_health(env: SimpleNamespace) -> None:
    answer = call(env, "GET", "/internal/health")
    assert answer.status == 200 and answer.json() == {"status": "ok", "worker": "users"}


def test_register_answers_201_with_the_user_and_location(env: SimpleNamespace) -> None:
    answer = call(env, "POST", "/api/auth/register", {"email": " New@Example.com", "password": PASSWORD, "name": "N"})
    user = answer.json()
    assert answer.status == 201 and answer.headers["Location"] == f"/api/users/{user['id']}"
    assert set(user) == {"id", "email", "name", "role", "created_at", "updated_at"}
    assert (user["email"], user["role"]) == ("new@example.com", "user")
    assert answer.headers["X-Request-ID"] == "req-test"


def test_admin_email_from_env_registers_as_admin(env: SimpleNamespace) -> None:
    assert register(env, "ADMIN@example.com").role == "admin"
    assert register(env, "ops@example.com").role == "admin"


def test_register_refusals(env: SimpleNamespace) -> None:
    register(env, "dup@example.com")
    dup = call(env, "POST", "/api/auth/register", {"email": "Dup@Example.com", "password": PASSWORD, "name": "D"})
    assert dup.status == 409 and dup.headers["Content-Type"] == "application/problem+json"
    bad = call(env, "POST", "/api/auth/register", {"email": "nope", "password": "short", "name": "", "role": "admin"})
    assert bad.status == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {
        ("body", "email"),
        ("body", "password"),
        ("body", "name"),
        ("body", "role"),
    }
    assert "short" not in bad.body.decode()  # input is never echoed
    assert call(env, "POST", "/api/auth/register", b"{", content_type="application/json").status == 400
    assert call(env, "POST", "/api/auth/register", b"x", content_type="text/plain").status == 415


def test_internal_login(env: SimpleNamespace) -> None:
    me = register(env, "login@example.com")
    ok = call(env, "POST", "/internal/auth/login", {"email": "LOGIN@example.com", "password": PASSWORD})
    grant = ok.json()
    assert ok.status == 200 and grant["user_id"] == me.user_id and "password" not in ok.body.decode()
    assert grant["role"] == "user" and grant["session_id"].startswith("ses_") and len(grant["refresh_token"]) >= 43
    wrong = call(env, "POST", "/internal/auth/login", {"email": "login@example.com", "password": "wrong-password"})
    unknown = call(env, "POST", "/internal/auth/login", {"email": "who@example.com", "password": PASSWORD})
    for answer in (wrong, unknown):
        assert answer.status == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_routes_that_need_a_caller_refuse_anonymous_calls(env: SimpleNamespace) -> None:
    for method, path in [
        ("GET", "/api/users/me"),
        ("GET", "/api/users"),
        ("GET", "/api/users/usr_x"),
        ("DELETE", "/api/users/usr_x"),
        ("GET", "/api/admin/maintenance-runs"),
    ]:
        assert call(env, method, path).status == 401, path
    assert call(env, "PATCH", "/api/users/usr_x", {"name": "x"}).status == 401


def test_me(env: SimpleNamespace) -> None:
    me = register(env, "me@example.com", "Me")
    answer = call(env, "GET", "/api/users/me", as_=me)
    assert answer.status == 200 and answer.json()["name"] == "Me"


def test_get_user_reports_cache_miss_then_hit(env: SimpleNamespace) -> None:
    me = register(env, "cache@example.com")
    first = call(env, "GET", f"/api/users/{me.user_id}", as_=me)
    second = call(env, "GET", f"/api/users/{me.user_id}", as_=me)
    assert (first.status, first.headers["X-Cache"]) == (200, "MISS")
    assert (second.status, second.headers["X-Cache"]) == (200, "HIT")
    assert first.json() == second.json()
    assert env.PROFILE_CACHE.options[cache_key(me.user_id)] == {"expirationTtl": 120}


def test_strangers_get_404(env: SimpleNamespace) -> None:
    me = register(env, "private@example.com")
    stranger = register(env, "stranger@example.com")
    for method, body in [("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)]:
        assert call(env, method, f"/api/users/{me.user_id}", body, as_=stranger).status == 404


def test_patch_renames_and_invalidates(env: SimpleNamespace) -> None:
    me = register(env, "patch@example.com", "Old")
    call(env, "GET", f"/api/users/{me.user_id}", as_=me)
    answer = call(env, "PATCH", f"/api/users/{me.user_id}", {"name": " New "}, as_=me)
    assert answer.status == 200 and answer.json()["name"] == "New"
    again = call(env, "GET", f"/api/users/{me.user_id}", as_=me)
    assert again.headers["X-Cache"] == "MISS" and again.json()["name"] == "New"
    extra = call(env, "PATCH", f"/api/users/{me.user_id}", {"name": "X", "role": "admin"}, as_=me)
    assert extra.status == 422


def test_delete_then_everything_is_gone(env: SimpleNamespace) -> None:
    me = register(env, "bye@example.com")
    answer = call(env, "DELETE", f"/api/users/{me.user_id}", as_=me)
    assert (answer.status, answer.body) == (204, b"")
    [params] = env.ERASURES.created.values()
    assert params["user_id"] == me.user_id and params["request_id"] == "req-test"
    status = call(env, "GET", f"/api/admin/erasures/{me.user_id}", as_=Identity("usr_admin", ADMIN))
    assert status.status == 200 and status.json()["status"] == "running"
    assert [step["status"] for step in status.json()["steps"]] == ["pending"] * 4
    assert call(env, "GET", f"/api/admin/erasures/{me.user_id}", as_=me).status == 403
    assert call(env, "GET", "/api/admin/erasures/usr_unknown", as_=Identity("usr_admin", ADMIN)).status == 404
    assert call(env, "DELETE", f"/api/users/{me.user_id}", as_=me).status == 404
    assert call(env, "GET", f"/api/users/{me.user_id}", as_=me).status == 404
    assert call(env, "GET", "/api/users/me", as_=me).status == 404
    login = call(env, "POST", "/internal/auth/login", {"email": "bye@example.com", "password": PASSWORD})
    assert login.status == 401


def test_list_users(env: SimpleNamespace) -> None:
    admin = register(env, "admin@example.com")
    user = register(env, "one@example.com")
    register(env, "two@example.com")
    assert call(env, "GET", "/api/users", as_=user).status == 403
    first = call(env, "GET", "/api/users?limit=2", as_=admin).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = call(env, "GET", f"/api/users?limit=2&cursor={first['next_cursor']}", as_=admin).json()
    assert [u["email"] for u in second["items"]] == ["two@example.com"] and second["next_cursor"] is None
    bad = call(env, "GET", "/api/users?cursor=garbage", as_=admin)
    assert bad.status == 422 and bad.json()["errors"][0]["loc"] == ["query", "cursor"]
    assert call(env, "GET", "/api/users?limit=0", as_=admin).status == 422
    assert call(env, "GET", "/api/users?limit=101", as_=admin).status == 422


def test_scheduled_sweep_and_maintenance_runs(env: SimpleNamespace) -> None:
    """An account soft-deleted by the release before erasures gets its erasure from the cron."""
    admin = register(env, "admin@example.com")
    doomed = register(env, "doomed@example.com")
    env.DB.db.conn.execute("UPDATE users SET deleted_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", (doomed.user_id,))
    run(run_scheduled(env, "0 3 * * *"))
    assert env.ERASURES.created[f"erase-{doomed.user_id}"]["deleted_at"] == "2000-01-01T00:00:00.000Z"
    answer = call(env, "GET", "/api/admin/maintenance-runs", as_=admin)
    [item] = answer.json()["items"]
    assert answer.status == 200 and item["counts"]["erasures_started"] == 1 and item["cron"] == "0 3 * * *"
    assert item["worker"] == "users" and item["job"] == "users-maintenance" and item["errors"] == []
    assert call(env, "GET", "/api/admin/maintenance-runs", as_=Identity(doomed.user_id, "user")).status == 403


def test_unknown_route_and_wrong_method(env: SimpleNamespace) -> None:
    assert call(env, "GET", "/api/nothing").status == 404
    answer = call(env, "PUT", "/api/users/usr_x")
    assert answer.status == 405 and answer.headers["Allow"] == "DELETE, GET, HEAD, PATCH"


def test_request_log_names_the_caller(env: SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    me = register(env, "logged@example.com")
    capsys.readouterr()
    call(env, "GET", "/api/users/me", as_=me)
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"request"' in x]
    assert line["user_id"] == me.user_id and line["request_id"] == "req-test" and line["route"] == "/api/users/me"
