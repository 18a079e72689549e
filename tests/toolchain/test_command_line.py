"""The scripts a newcomer types: usage on --help, one clear line and exit 2 for a mistake,
a busy port or a busy state folder reported before anything starts, and a connection made
while the system starts answered once it is ready (never refused)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.toolchain.tools import NODE, ROOT, RUNTIME, START_TIMEOUT_S, Runtime, free_port

SCRIPTS = ("scripts/dev", "scripts/bench", "scripts/make-admin", "scripts/setup", "scripts/screenshot")


def run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_usage(script: str, flag: str):
    done = run([str(ROOT / script), flag])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script}"), done.stdout
    assert "Error" not in done.stdout + done.stderr and "    at " not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["scripts/dev", "--port", "abc"], '--port takes a number from 0 to 65535, got "abc"'),
        (["scripts/dev", "--port", "70000"], "--port takes a number"),
        (["scripts/dev", "--var", "JWT_SECRET=x"], "(use a colon: JWT_SECRET:x)"),
        (["scripts/dev", "--var", ":x"], "--var takes KEY:VALUE"),
        (["scripts/dev", "--rate-limit", "lots"], "--rate-limit takes a number of requests (1 or more) or off"),
        (["scripts/dev", "--no-such-flag"], "--no-such-flag"),
        (["scripts/dev", "stray"], "stray"),
        (["scripts/bench", "--requests", "abc"], "--requests takes a whole number"),
        (["scripts/bench", "--requests"], "--requests takes a whole number"),
        (["scripts/bench", "--fast"], "unknown option --fast"),
        (["scripts/make-admin", "ada@example.com"], "expected EMAIL and --remote or --local"),
        (["scripts/make-admin", "ada@example.com", "--everywhere"], "expected --remote or --local"),
        (["scripts/make-admin", "x'; DROP TABLE users; --", "--local"], "not an email address"),
        (["scripts/setup", "--fast"], "unknown option --fast"),
        (["scripts/screenshot", "--loads", "none"], "--loads takes a whole number"),
        (["scripts/screenshot", "--wide"], "unknown option --wide"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(args: list[str], says: str):
    done = run([str(ROOT / args[0]), *args[1:]])
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "--help" in done.stderr and done.stdout == ""


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run([*RUNTIME, "--port", str(port), "--persist-to", str(tmp_path / "state")], timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        done.stderr == f"scripts/dev: port {port} on 127.0.0.1 is in use (another scripts/dev? pick one with --port)\n"
    )
    assert done.stdout == ""  # nothing was built, imported or started
    assert not (tmp_path / "state" / "scripts-dev.pid").exists()  # and its lock is released


def test_a_second_runtime_on_the_same_state_folder_is_refused(tmp_path: Path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "scripts-dev.pid").write_text(f"{os.getpid()}\n")  # a live process holds it
    done = run([*RUNTIME, "--port", str(free_port()), "--persist-to", str(state)], timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"another local runtime (pid {os.getpid()}) is using the state folder {state}" in done.stderr
    assert (state / "scripts-dev.pid").read_text() == f"{os.getpid()}\n"


def test_a_stale_lock_is_taken_over(tmp_path: Path):
    """A runtime that was killed leaves its lock; the next one takes it (here it then stops at the busy port)."""
    state = tmp_path / "state"
    state.mkdir()
    finished = subprocess.Popen(["true"])
    finished.wait()
    (state / "scripts-dev.pid").write_text(f"{finished.pid}\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run([*RUNTIME, "--port", str(taken.getsockname()[1]), "--persist-to", str(state)], timeout=30)
    assert "is in use" in done.stderr and "another local runtime" not in done.stderr, done.stderr
    assert not (state / "scripts-dev.pid").exists()


def test_a_connection_made_before_ready_is_held_and_answered(tmp_path: Path):
    runtime = Runtime(tmp_path, "--rate-limit", "2")
    try:
        with runtime.connect() as early:
            connected_before_ready = not runtime.ready.is_set()
            early.sendall(
                b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nCF-Connecting-IP: 192.0.2.7\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while chunk := early.recv(65536):
                answer += chunk
        assert connected_before_ready, "the port must accept connections before the system is ready"
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
        assert runtime.ready.is_set() and "rate limit 2 per 60 s" in "".join(runtime.stderr)
        # --rate-limit 2 per fixed 60 s window: of the early request and 5 more, some window
        # holds 3 or more (one window edge may fall between them), so one answer is a 429.
        url = f"http://127.0.0.1:{runtime.port}/health"
        statuses = [httpx.get(url, headers={"CF-Connecting-IP": "192.0.2.7"}, timeout=60).status_code for _ in range(5)]
        assert 429 in statuses and set(statuses) <= {200, 429}, statuses
    finally:
        runtime.stop()


def test_rate_limit_off_lets_every_request_through(tmp_path: Path):
    runtime = Runtime(tmp_path, "--rate-limit", "off")
    try:
        assert runtime.ready.wait(START_TIMEOUT_S), "".join(runtime.stderr)
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.port}", timeout=60) as client:
            statuses = {
                client.get("/health", headers={"CF-Connecting-IP": "192.0.2.8"}).status_code for _ in range(130)
            }
        assert statuses == {200}  # 130 > the configured 100 per 60 s
    finally:
        runtime.stop()
