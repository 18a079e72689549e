"""Schemathesis against the running system's own /openapi.json, all phases, as a user and
as an admin: no 5xx, no crash, no answer the document does not describe.

Local only (it creates many accounts and orders). FUZZ_EXAMPLES sets the examples per
operation and phase (default 40: about 1,000 cases per role); FUZZ_WORKERS the requests
schemathesis keeps in flight (default 4: the fuzzer's CPU and the system's overlap).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

from tests.conftest import ROOT, VENV_BIN

PASSWORD = "correct horse battery"
SEED = "20261124"  # fixed, so a failure replays; change it to explore
MIN_CASES_PER_ROLE = 500


def token_for(api, email: str) -> str:
    created = api.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Fuzz"})
    assert created.status_code in (201, 409), created.text
    return api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]


def fuzz(base_url: str, token: str, *extra: str) -> tuple[int, str]:
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
        "--workers",
        os.environ.get("FUZZ_WORKERS", "4"),
        *extra,
    ]
    env = {**os.environ, "FUZZ_TOKEN": token, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout + done.stderr


def cases_in(report: str) -> int:
    found = re.search(r"(\d+) generated", report)
    return int(found.group(1)) if found else 0


def test_fuzz_as_a_user(local, api):
    status, report = fuzz(local.base_url, token_for(api, f"fuzz-{uuid.uuid4().hex[:8]}@example.com"))
    sys.stdout.write(report[-3000:])
    assert status == 0, report[-6000:]
    assert cases_in(report) >= MIN_CASES_PER_ROLE


def test_fuzz_as_an_admin(local, api):
    """The admin run leaves DELETE out: it would delete the suite's shared accounts."""
    status, report = fuzz(local.base_url, token_for(api, "fuzz-admin@example.com"), "--exclude-method", "DELETE")
    sys.stdout.write(report[-3000:])
    assert status == 0, report[-6000:]
    assert cases_in(report) >= MIN_CASES_PER_ROLE
