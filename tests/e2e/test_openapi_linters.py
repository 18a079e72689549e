"""Outside linters on the running system's own /openapi.json: Redocly CLI's recommended
ruleset and Spectral's `spectral:oas`, both pinned in package.json and run offline with
the venv's Node. Zero errors and zero warnings from each: a result of any severity fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, VENV_BIN

NODE = VENV_BIN / "node"
REDOCLY = ROOT / "node_modules" / "@redocly" / "cli" / "bin" / "cli.js"
SPECTRAL = ROOT / "node_modules" / "@stoplight" / "spectral-cli" / "dist" / "index.js"
LINT_TIMEOUT_S = 120
# No telemetry, no update check: the linters run offline, and quietly.
OFFLINE = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_UPDATE_NOTIFIER": "1"}


@pytest.fixture(scope="module")
def document_file(live, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live document, as served, in a file for the CLIs."""
    answer = httpx.get(f"{live.base_url}/openapi.json", timeout=30)
    assert answer.status_code == 200, answer.text
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_bytes(answer.content)
    return path


def run_node(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    for needed in (NODE, script):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run scripts/setup (or use scripts/test)", pytrace=False)
    env = {**os.environ, **OFFLINE}
    return subprocess.run(
        [str(NODE), str(script), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=LINT_TIMEOUT_S
    )


def test_redocly_recommended_finds_nothing(document_file: Path) -> None:
    run = run_node(REDOCLY, "lint", "--config", str(ROOT / "redocly.yaml"), "--format", "json", str(document_file))
    report: dict[str, Any] = json.loads(run.stdout)
    problems = [
        f"{p['severity']} {p['ruleId']}: {p['message']} at {[loc.get('pointer') for loc in p['location']]}"
        for p in report["problems"]
    ]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, "\n".join(problems)
    assert run.returncode == 0, run.stderr


def test_spectral_oas_finds_nothing(document_file: Path) -> None:
    output = document_file.with_name("spectral.json")
    run = run_node(
        SPECTRAL,
        "lint",
        "--ruleset",
        str(ROOT / ".spectral.yaml"),
        "--format",
        "json",
        "--fail-severity",
        "hint",
        "--output",
        str(output),
        str(document_file),
    )
    assert output.exists(), run.stdout + run.stderr
    results: list[dict[str, Any]] = json.loads(output.read_text(encoding="utf-8"))
    problems = [f"{r['severity']} {r['code']}: {r['message']} at {'.'.join(map(str, r['path']))}" for r in results]
    assert results == [] and run.returncode == 0, "\n".join(problems) or run.stderr


def test_the_document_names_where_it_was_served(document_file: Path, live) -> None:
    """`servers` is the origin the client reached, so generated clients and /docs call it."""
    document = json.loads(document_file.read_text(encoding="utf-8"))
    assert [server["url"] for server in document["servers"]] == [live.base_url]
