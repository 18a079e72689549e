"""The pinned toolchain, run as users run it: wrangler from node_modules on the pinned Node."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".venv" / "bin" / "node"
WRANGLER = ROOT / "node_modules" / "wrangler" / "bin" / "wrangler.js"
CONFIGS = ("wrangler.toml", "services/users/wrangler.toml", "services/orders/wrangler.toml")
PINS = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]

# `wrangler dev` offline dies fetching the Pyodide bundle of the release it picked, e.g.
# https://pyodide-capnp-bin.edgeworker.net/pyodide_314.0.6_2026-08-17_11.capnp.bin
BUNDLE = re.compile(
    r"Request for Pyodide bundle failed; url = \S*/pyodide_(?P<release>[0-9][0-9a-z.]*)_[0-9-]+_[0-9]+\.capnp\.bin"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
DEV_TIMEOUT_S = 120
RUNTIME = [str(NODE), "scripts/runtime/main.mjs"]
START_TIMEOUT_S = 180


def wrangler_env(home: Path) -> dict[str, str]:
    """No telemetry, no prompts, and a config dir of its own (no login of the user's leaks in)."""
    return {
        **os.environ,
        "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CI": "1",
        "WRANGLER_SEND_METRICS": "false",
        "XDG_CONFIG_HOME": str(home),
    }


def wrangler(
    args: list[str], home: Path, timeout: float = DEV_TIMEOUT_S, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODE), str(WRANGLER), *args],
        cwd=cwd,
        env=wrangler_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def plain(text: str) -> str:
    return _ANSI.sub("", text)


def offline_dev_output(home: Path) -> str:
    """What `wrangler dev` with all three configs prints before it stops (ANSI removed).

    Offline it exits once workerd fails to download the Pyodide bundle. On a connected
    machine it would start and keep serving; the timeout then ends it, and the callers
    see no bundle failure in the output.
    """
    args = ["dev", *(arg for config in CONFIGS for arg in ("-c", config)), "--port", "0", "--inspector-port", "0"]
    try:
        done = wrangler(args, home)
        return plain(done.stdout + done.stderr)
    except subprocess.TimeoutExpired as timed_out:
        out = (timed_out.stdout or b"") + (timed_out.stderr or b"")
        return plain(out.decode() if isinstance(out, bytes) else out)


def copy_project(copy: Path) -> Path:
    """A copy of what wrangler and the runtime read, sharing node_modules (symlinks kept)."""
    copy.mkdir(parents=True)
    for name in ("src", "services", "scripts", "wrangler.toml", "package.json", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", ".dev.vars")
            shutil.copytree(source, copy / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy(source, copy / name)
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    return copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runtime:
    """main.mjs on a free port with its own state (`tmp_path / "state"`), its stderr collected
    as it comes. It runs in a process group of its own, so `crash()` ends it as a machine
    failure would: the runtime and its workerd at once, nothing shut down in order."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.state = tmp_path / "state"
        command = [*RUNTIME, "--port", str(self.port), "--persist-to", str(self.state), *args]
        env = {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stderr: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.startswith("Ready on "):
                self.ready.set()

    def connect(self) -> socket.socket:
        """The first TCP connection the port accepts (retrying while nothing listens yet)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=START_TIMEOUT_S)
            except ConnectionRefusedError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        """Ctrl-C's way: the runtime stops miniflare and exits."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def crash(self) -> None:
        """SIGKILL to the runtime's whole process group (itself and workerd)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
