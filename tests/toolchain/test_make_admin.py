"""Admins are appointed by an operator over `wrangler d1 execute` (scripts/make-admin), never
by registering an address: shown here against the running local system's own database."""

from __future__ import annotations

import subprocess
import uuid

import httpx
import pytest

from tests.toolchain.tools import ROOT

PASSWORD = "correct horse battery"


@pytest.fixture
def api(live):
    if live.state_dir is None:
        pytest.skip("needs the state dir of a local runtime started by this run")
    with httpx.Client(base_url=live.base_url, timeout=30, headers={"CF-Connecting-IP": "203.0.113.77"}) as client:
        yield client


def make_admin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts/make-admin"), *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def login(api: httpx.Client, email: str) -> dict[str, str]:
    token = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_operator_appoints_an_existing_account(api, live):
    email = f"boss-{uuid.uuid4().hex[:10]}@example.com"
    user = api.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Boss"}).json()
    assert user["role"] == "user"
    before = login(api, email)
    assert api.get(f"/api/users/{user['id']}", headers=before).json()["role"] == "user"  # now cached

    done = make_admin(email.upper(), "--local", "--persist-to", str(live.state_dir))
    assert done.returncode == 0, done.stdout + done.stderr

    after = login(api, email)
    assert api.get("/api/users/me", headers=after).json()["role"] == "admin"
    assert api.get("/api/users", headers=after).status_code == 200
    assert api.get(f"/api/users/{user['id']}", headers=after).json()["role"] == "admin"  # the cache was dropped
    assert api.get("/api/users", headers=before).status_code == 403  # old tokens keep their old role


@pytest.mark.parametrize(
    ("email", "status"),
    [("nobody-registered@example.com", 1), ("x' OR '1'='1@example.com", 2), ("not an email", 2)],
    ids=["unknown", "sql-injection", "not-an-email"],
)
def test_make_admin_refuses_what_it_cannot_do(api, live, email, status):
    done = make_admin(email, "--local", "--persist-to", str(live.state_dir))
    assert done.returncode == status, done.stdout + done.stderr


@pytest.mark.parametrize("args", [["--remote"], ["--remote", "--env", "qa"], ["--remote", "--env"]])
def test_a_remote_appointment_names_its_environment(args: list[str]) -> None:
    """On Cloudflare the users database is edge-users-staging or -production: no default."""
    done = make_admin("ada@example.com", *args)
    assert done.returncode == 2 and "--env staging|production" in done.stderr, done.stderr
