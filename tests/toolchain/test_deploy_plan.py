"""`scripts/deploy --dry-run` prints the pipeline GitHub Actions runs, in the order it runs it.

The workflow (.github/workflows/deploy.yml) and the README's deploy guide both call
scripts/deploy, so this plan is the one source of truth: migrations before any upload,
services before the gateway, staging whole at once, production 10% then 100% with a smoke
gate after each step and a rollback (gateway first) when a gate fails.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.toolchain.tools import ROOT

DEPLOY = ROOT / "scripts" / "deploy"
# Each worker after the workers it binds: users binds orders (its erasure), the gateway both.
ORDER = ("services/orders/wrangler.toml", "services/users/wrangler.toml", "wrangler.toml")


def deploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEPLOY), *args], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)


def plan(environment: str) -> list[str]:
    done = deploy("--env", environment, "--dry-run", "--tag", "abc123")
    assert done.returncode == 0, done.stdout + done.stderr
    return [line[2:] for line in done.stdout.splitlines() if line.startswith("$ ")]


def index(commands: list[str], *parts: str, start: int = 0) -> int:
    """The first command from `start` on that contains every part."""
    for number, command in enumerate(commands[start:], start):
        if all(part in command for part in parts):
            return number
    raise AssertionError(f"no command with {parts} after #{start} in:\n" + "\n".join(commands))


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_every_command_names_its_environment_and_the_services_go_first(environment: str) -> None:
    commands = plan(environment)
    cloudflare = [c for c in commands if c.startswith(("wrangler ", "pywrangler "))]
    assert cloudflare and all(f"--env {environment} " in c for c in cloudflare), cloudflare
    migrations = [index(commands, "d1 migrations apply", f"edge-{s}-{environment}") for s in ("users", "orders")]
    uploads = [index(commands, "pywrangler versions upload", f"-c {config} ") for config in ORDER]
    assert max(migrations) < min(uploads), "migrations run before any new code is uploaded"
    assert uploads == sorted(uploads), "services are uploaded before the gateway"
    deploys = [index(commands, "wrangler versions deploy", f"-c {config} ") for config in ORDER]
    assert deploys == sorted(deploys) and max(uploads) < min(deploys)
    gate = index(commands, "scripts/test tests/e2e -m smoke --base-url")
    assert max(deploys) < gate
    assert "Cloudflare-Workers-Version-Overrides: " in commands[gate]
    rollbacks = [index(commands, "wrangler rollback", f"-c {config} ", start=gate) for config in reversed(ORDER)]
    assert rollbacks == sorted(rollbacks) and gate < min(rollbacks), "a failed gate rolls back, gateway first"


def test_staging_goes_to_100_percent_at_once() -> None:
    commands = plan("staging")
    deploys = [c for c in commands if c.startswith("wrangler versions deploy")]
    assert len(deploys) == 3 and all("@100%" in c and "--yes" in c for c in deploys), deploys
    assert sum(c.startswith("scripts/test") for c in commands) == 1


def test_production_goes_10_then_100_percent_with_a_gate_after_each_step() -> None:
    commands = plan("production")
    first = index(commands, "wrangler versions deploy", "@10%", "@90%")
    gate_10 = index(commands, "scripts/test", "production-10.json", start=first)
    rollback_10 = index(commands, "wrangler rollback", "gate failed at 10%", start=gate_10)
    whole = index(commands, "wrangler versions deploy", "@100%", start=rollback_10)
    gate_100 = index(commands, "scripts/test", "production-100.json", start=whole)
    index(commands, "wrangler rollback", "gate failed at 100%", start=gate_100)
    assert not [c for c in commands[whole:] if "@90%" in c], "the 100% step leaves no old share"


def test_a_real_run_needs_the_gateway_url_and_refuses_placeholder_ids() -> None:
    missing_url = deploy("--env", "staging")
    assert missing_url.returncode == 2 and "--base-url is required" in missing_url.stderr
    assert deploy("--env", "qa", "--dry-run").returncode == 2
    refused = deploy("--env", "production", "--base-url", "https://example.invalid")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "is a placeholder" in refused.stdout and "README: Deploy" in refused.stderr
    assert "\n$ " not in refused.stdout, "nothing runs before the preflight passes"
