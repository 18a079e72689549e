"""Schemathesis against the running system's own /openapi.json, all phases, as a user and
as an admin: no 5xx, no crash, no answer the document does not describe.

Local only (it creates many accounts and orders). FUZZ_EXAMPLES sets the examples per
operation and phase (default 40: about 1,000 cases per role). Both roles' runs start
together, each in its own process (the fuzzer's CPU and the system's overlap); not
schemathesis' own --workers, whose threads trip CPython 3.11's `ast.parse`, which is not
thread-safe ("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.conftest import ROOT, VENV_BIN
from tests.e2e.conftest import client_address

PASSWORD = "correct horse battery"
SEED = "20261124"  # fixed, so a failure replays; change it to explore
MIN_CASES_PER_ROLE = 500


def token_for(api, email: str) -> str:
    created = api.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Fuzz"})
    assert created.status_code in (201, 409), created.text
    return api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]


def fuzz(base_url: str, token: str, network: str, *extra: str) -> subprocess.Popen[str]:
    examples = os.environ.get("FUZZ_EXAMPLES", "40")
    command = [
        str(VENV_BIN / "schemathesis"),
        "--config-file",
        str(ROOT / "tests/e2e/schemathesis.toml"),
        "run",
        f"{base_url}/openapi.json",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--max-examples",
        examples,
        "--seed",
        SEED,
        "--no-color",
        *extra,
    ]
    env = {
        **os.environ,
        "FUZZ_TOKEN": token,
        "FUZZ_NETWORK": network,
        "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def report_of(run: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = run.communicate(timeout=900)
    return run.returncode, output


def cases_in(report: str) -> int:
    found = re.search(r"(\d+) generated", report)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def fuzz_runs(live):
    """Both roles' runs, started at once; each test waits for its own."""
    if not live.local:
        pytest.skip("fuzzing creates many accounts and orders: local runtime only")
    with httpx.Client(base_url=live.base_url, timeout=30, headers={"CF-Connecting-IP": client_address()}) as api:
        user = token_for(api, f"fuzz-{uuid.uuid4().hex[:8]}@example.com")
        admin = token_for(api, "fuzz-admin@example.com")
    runs = {
        "user": fuzz(live.base_url, user, "10"),
        # The admin run leaves DELETE out: it would delete the suite's shared accounts.
        "admin": fuzz(live.base_url, admin, "11", "--exclude-method", "DELETE"),
    }
    yield runs
    for run in runs.values():
        if run.poll() is None:
            run.kill()
            run.communicate()


def check(run: subprocess.Popen[str]) -> None:
    status, report = report_of(run)
    sys.stdout.write(report[-3000:])
    assert status == 0, report[-6000:]
    assert cases_in(report) >= MIN_CASES_PER_ROLE


def test_fuzz_as_a_user(fuzz_runs):
    check(fuzz_runs["user"])


def test_fuzz_as_an_admin(fuzz_runs):
    check(fuzz_runs["admin"])
