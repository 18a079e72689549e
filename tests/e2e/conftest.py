"""E2E fixtures: an API client with its own rate-limit budget, and accounts to act as.

Every account a test needs is registered by the test itself under a fresh random address
(`user-<hex>@example.com` and the like); only the admin is special (see `admin_credentials`).
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import TEST_VARS

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery"
_addresses = itertools.count(1)


@dataclass
class Account:
    id: str
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def client_address() -> str:
    """A distinct client address per test: the gateway rate-limits per CF-Connecting-IP."""
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"


@pytest.fixture
def api(live) -> httpx.Client:
    with httpx.Client(base_url=live.base_url, timeout=30, headers={"CF-Connecting-IP": client_address()}) as client:
        yield client


def register(api: httpx.Client, email: str, password: str = PASSWORD, name: str = "Test User") -> httpx.Response:
    return api.post("/api/auth/register", json={"email": email, "password": password, "name": name})


def login(api: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api.post("/api/auth/login", json={"email": email, "password": password})


def sign_up(api: httpx.Client, email: str | None = None) -> Account:
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    created = register(api, email)
    assert created.status_code == 201, created.text
    token = login(api, email)
    assert token.status_code == 200, token.text
    user = created.json()
    return Account(user["id"], user["email"], user["role"], token.json()["access_token"])


def leave_no_trace(api: httpx.Client, account: Account, request: pytest.FixtureRequest) -> None:
    """A smoke test runs against a live deployment: the account it signed up is deleted again
    (a soft delete whose erasure workflow cancels its open orders and purges it)."""
    if request.node.get_closest_marker("smoke"):
        deleted = api.delete(f"/api/users/{account.id}", headers=account.headers)
        assert deleted.status_code in (204, 404), deleted.text


def wait_for_dead_letter(api, admin, event_id: str, timeout: float = 60) -> dict:
    """The dead letter of event `event_id`, once the dead-letter consumer has recorded it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        letters = api.get("/api/admin/dead-letters", headers=admin.headers, params={"limit": 100}).json()["items"]
        for letter in letters:
            if letter["body"].get("id") == event_id:
                return letter
        time.sleep(0.5)
    raise AssertionError(f"no dead letter for event {event_id} within {timeout} s")


@pytest.fixture
def user(api, request) -> Iterator[Account]:
    account = sign_up(api)
    yield account
    leave_no_trace(api, account, request)


@pytest.fixture
def other_user(api, request) -> Iterator[Account]:
    account = sign_up(api)
    yield account
    leave_no_trace(api, account, request)


def admin_credentials(live) -> tuple[str, str]:
    """Who the admin tests sign in as. The local runtime started here lists ADMIN_EMAIL in
    ADMIN_EMAILS, so registering it makes an admin. Any other target (--base-url) makes
    nobody an admin by registration: its admin comes from E2E_ADMIN_EMAIL and
    E2E_ADMIN_PASSWORD, and without them the admin-only tests skip."""
    if live.local:
        return ADMIN_EMAIL, PASSWORD
    email, password = os.environ.get("E2E_ADMIN_EMAIL", ""), os.environ.get("E2E_ADMIN_PASSWORD", "")
    if not (email and password):
        pytest.skip(
            "an admin-only test: against --base-url, set E2E_ADMIN_EMAIL and E2E_ADMIN_PASSWORD to an admin "
            "account of that deployment (scripts/make-admin appoints one)"
        )
    return email, password


@pytest.fixture(scope="session")
def admin(live) -> Account:
    """An admin to act as: registered on first use locally, signed in with the given credentials elsewhere."""
    email, password = admin_credentials(live)
    with httpx.Client(base_url=live.base_url, timeout=30, headers={"CF-Connecting-IP": client_address()}) as api:
        if live.local:
            created = register(api, email, password)
            assert created.status_code in (201, 409), created.text
        token = login(api, email, password)
        assert token.status_code == 200, f"signing in as the admin {email}: {token.text}"
        me = api.get("/api/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.status_code == 200 and me.json()["role"] == "admin", f"{email} is not an admin there: {me.text}"
        return Account(me.json()["id"], me.json()["email"], "admin", token.json()["access_token"])


@pytest.fixture
def local(live):
    """The system, when it is the local runtime started by this run; other targets skip the test."""
    if not live.local:
        pytest.skip("a test of the local runtime (its log, doors or state), not of a deployment given by --base-url")
    return live


@pytest.fixture
def secret(live) -> bytes:
    """The gateway's JWT_SECRET, to sign tokens as it does: the local runtime's is the suite's
    own; against --base-url set E2E_JWT_SECRET, or the tests that need it skip."""
    value = TEST_VARS["JWT_SECRET"] if live.local else os.environ.get("E2E_JWT_SECRET", "")
    if not value:
        pytest.skip("set E2E_JWT_SECRET to the deployment's JWT secret to sign tokens")
    return value.encode()
