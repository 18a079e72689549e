"""The local runtime's table of Python releases agrees with workerd and with pywrangler.

scripts/runtime/releases.mjs decides, per config, which Pyodide a worker runs. These
tests hold that table to the two tools that decide it for real: the workerd inside the
pinned wrangler (which names the bundle it wants, offline) and pywrangler (which picks
the Python version, and so the packages, it vendors).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.toolchain.tools import BUNDLE, NODE, ROOT, plain, wrangler, wrangler_env

OLD_DATE = "2024-04-01"  # before every release's date: only flags select


def releases() -> list[dict]:
    done = subprocess.run(
        [str(NODE), "scripts/runtime/releases.mjs", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def cases() -> list[tuple[str, list[str], str]]:
    """(compatibility_date, flags, the release workerd must pick) for each way to select each release."""
    found = []
    for release in releases():
        if release["since"]:
            found.append((release["since"], ["python_workers"], release["pyodide"]))
        if release["flag"]:
            found.append((OLD_DATE, ["python_workers", release["flag"]], release["pyodide"]))
        if not release["since"] and not release["flag"]:
            found.append((OLD_DATE, ["python_workers"], release["pyodide"]))
    return found


def asked_release(tmp_path: Path, date: str, flags: list[str]) -> str | None:
    project = tmp_path / "probe"
    (project / "src").mkdir(parents=True)
    (project / "src/entry.py").write_text(
        "from workers import Response, WorkerEntrypoint\n\n\nclass Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n        return Response('ok')\n",
        encoding="utf-8",
    )
    config = (
        f'name = "probe"\nmain = "src/entry.py"\n'
        f'compatibility_date = "{date}"\ncompatibility_flags = {json.dumps(flags)}\n'
    )
    (project / "wrangler.toml").write_text(config, encoding="utf-8")
    done = wrangler(["dev", "--port", "0", "--inspector-port", "0"], tmp_path / "home", cwd=project)
    found = BUNDLE.search(plain(done.stdout + done.stderr))
    return found["release"] if found else None


@pytest.mark.parametrize(("date", "flags", "release"), cases())
def test_workerd_picks_the_release_the_table_says(tmp_path: Path, date: str, flags: list[str], release: str):
    asked = asked_release(tmp_path, date, flags)
    if asked is None:
        pytest.skip("wrangler dev did not stop at the bundle download (a connected machine?)")
    assert asked == release, f"date {date} flags {flags}: workerd runs Pyodide {asked}, the table says {release}"


def pywrangler(code: str) -> str:
    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", code],
        cwd=ROOT,
        env=wrangler_env(ROOT / ".cache"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_pywrangler_selects_python_as_the_table_does():
    table = json.loads(
        pywrangler(
            "import json; from pywrangler.metadata import PYTHON_COMPAT_VERSIONS as v;"
            "print(json.dumps({x.version: [x.compat_flag, x.compat_date and x.compat_date.date().isoformat()]"
            " for x in v}))"
        )
    )
    for release in releases():
        minor = ".".join(release["python"].split(".")[:2])
        flag, since = table[minor]
        assert since == release["since"], (minor, since, release)
        assert flag == (release["flag"] or "python_workers"), (minor, flag, release)


def test_pywrangler_accepts_the_pinned_wrangler_and_picks_314_for_the_configs():
    out = pywrangler(
        "from pywrangler import utils; utils.check_wrangler_version();"
        "print(utils.get_python_version(), utils.get_pyodide_index())"
    )
    python, index = out.splitlines()[-1].split()
    assert python == "3.14"
    assert index.endswith("/314.0.7")  # ABI-compatible with 314.0.6: the wheels pywrangler vendors
