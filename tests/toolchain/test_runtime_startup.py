"""The local runtime refuses to start, clearly, what it cannot run as production would.

Each test starts the runtime on a copy of the project with one thing broken and expects
a prompt exit naming the worker and what to change: never a hang, never a half-up system.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.toolchain.tools import NODE, ROOT, copy_project

EXIT_TIMEOUT_S = 120


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def start(project: Path) -> subprocess.CompletedProcess[str]:
    command = [str(NODE), "scripts/runtime/main.mjs", "--port", "0", "--persist-to", str(project / "state")]
    command += ["--wheels", str(ROOT / ".cache" / "pyodide-wheels")]
    return subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=EXIT_TIMEOUT_S, stdin=subprocess.DEVNULL
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer holds {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_release_the_runtime_cannot_run_is_refused_with_what_to_change(project: Path):
    edit(
        project / "services/users/wrangler.toml",
        'compatibility_date = "2026-09-08"',
        'compatibility_date = "2025-10-01"',
    )
    done = start(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "worker edge-users" in done.stderr
    assert "Pyodide 0.28.2 (Python 3.13)" in done.stderr
    assert 'compatibility_date = "2026-09-08" or later' in done.stderr and "python_workers_314" in done.stderr
    assert "listening" not in done.stdout


def test_the_314_flag_selects_314_before_its_date(project: Path):
    """workerd's rule, both ways: an older date plus python_workers_314 still runs 314."""
    edit(
        project / "services/users/wrangler.toml",
        'compatibility_date = "2026-09-08"',
        'compatibility_date = "2025-10-01"',
    )
    edit(
        project / "services/users/wrangler.toml",
        'compatibility_flags = ["python_workers"]',
        'compatibility_flags = ["python_workers", "python_workers_314"]',
    )
    edit(project / "src/users/entry.py", "\nclass Default", "\nimport no_such_module_yet  # noqa\n\nclass Default")
    done = start(project)  # it gets past the release check, and then fails to import, by name
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Pyodide 0.28.2" not in done.stderr
    assert "worker edge-users failed to import" in done.stderr
    assert "ModuleNotFoundError: No module named 'no_such_module_yet'" in done.stderr


def test_a_worker_that_fails_to_import_is_named_with_its_traceback(project: Path):
    edit(
        project / "src/orders/entry.py", "\nclass Default", "\nraise RuntimeError('broken on purpose')\n\nclass Default"
    )
    done = start(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "worker edge-orders failed to import" in done.stderr
    assert "RuntimeError: broken on purpose" in done.stderr
    assert "listening" not in done.stdout


def test_an_interpreter_that_dies_fails_its_request_and_is_replaced(project: Path):
    """A Pyodide fatal error (here a WebAssembly stack overflow) must not take the system down."""
    crash = (
        "    async def fetch(self, request: Any) -> Any:\n"
        "        if request.url.endswith('/__crash'):\n"
        "            import asyncio, json\n"
        "            await asyncio.sleep(0)\n"
        "            json.loads('[' * 200_000 + ']' * 200_000)\n"
    )
    edit(project / "src/gateway/entry.py", "    async def fetch(self, request: Any) -> Any:\n", crash)
    command = [str(NODE), "scripts/runtime/main.mjs", "--port", "0", "--persist-to", str(project / "state")]
    command += ["--wheels", str(ROOT / ".cache" / "pyodide-wheels"), "--var", f"JWT_SECRET:{'s' * 40}"]
    with subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            url = listening_url(proc)
            assert httpx.get(f"{url}/__crash", timeout=60).status_code == 500
            assert healthy_within(url, seconds=90), "no healthy answer after the interpreter died"
        finally:
            proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "interpreter died; starting a new one" in output


def listening_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"event":"listening"' in line:
            return str(json.loads(line)["url"])
    raise AssertionError("the runtime exited before it listened")


def healthy_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=30).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    return False
