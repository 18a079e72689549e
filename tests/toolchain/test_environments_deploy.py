"""wrangler itself accepts every config in every environment, and binds each to its own resources.

`wrangler deploy --dry-run --env <env>` is the deploy minus the upload: it resolves the
environment (warning when a top-level vars/bindings key is missing from it), runs the
build and prints the bindings the worker would get. The bindings it prints must be the
local top level's by name, and every worker, queue and database among them that
environment's own. (`tests/unit/test_environments.py` checks the same on the TOML, fast.)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.toolchain.tools import CONFIGS, ROOT, plain, wrangler

ENVIRONMENTS = ("staging", "production")
# "env.USERS (edge-users-staging)    Worker" in the dry run's bindings table.
BINDING = re.compile(r"^env\.(?P<name>\w+) \((?P<value>.*)\)\s+(?P<kind>\S.*?)\s*$")
NAMED_RESOURCES = ("Worker", "Queue", "D1 Database")


def dry_run(path: str, environment: str | None, tmp_path: Path) -> str:
    env_args = [] if environment is None else ["--env", environment]
    args = ["deploy", "--dry-run", "--outdir", str(tmp_path / "out"), "-c", path, *env_args]
    done = wrangler(args, tmp_path / "home")
    output = plain(done.stdout + done.stderr)
    assert done.returncode == 0, output[-3000:]
    return output


def bindings(output: str) -> dict[str, tuple[str, str]]:
    """binding name -> (resource or value, kind), from the dry run's table."""
    found = {m["name"]: (m["value"], m["kind"]) for line in output.splitlines() if (m := BINDING.match(line.strip()))}
    assert found, output[-3000:]
    return found


@pytest.fixture(scope="module")
def local_bindings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    return {path: bindings(dry_run(path, None, tmp_path_factory.mktemp("local"))) for path in CONFIGS}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("path", CONFIGS)
def test_dry_run_deploys_each_environment_with_its_own_bindings(
    path: str, environment: str, tmp_path: Path, local_bindings
) -> None:
    output = dry_run(path, environment, tmp_path)
    assert "not inherited by environments" not in output, output[:3000]
    deployed = bindings(output)
    local = local_bindings[path]
    assert {(name, kind) for name, (_, kind) in deployed.items()} == {
        (name, kind) for name, (_, kind) in local.items()
    }, f"{path} [env.{environment}] binds other names or kinds than the top level"
    foreign = {
        name: value
        for name, (value, kind) in deployed.items()
        if kind in NAMED_RESOURCES and not value.endswith(f"-{environment}")
    }
    assert not foreign, f"{path} [env.{environment}] binds another environment's resources: {foreign}"
    name = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))["env"][environment]["name"]
    assert name.endswith(f"-{environment}")


def test_a_deploy_that_names_no_environment_is_warned(tmp_path: Path) -> None:
    """The top level is local development: wrangler warns when a deploy names no target."""
    output = dry_run("wrangler.toml", None, tmp_path)
    assert "no target environment was specified" in output, output[:3000]
