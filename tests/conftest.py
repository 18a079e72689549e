"""Pytest harness: the live system for the e2e tests, and the 5xx audit of its log.

* Tests under tests/e2e run against the system. With ``--base-url URL`` that is any
  running deployment (``wrangler dev``, ``scripts/dev``, a deployed URL); without it the
  session starts the local runtime (scripts/runtime/main.mjs) on a free port with a
  fresh state dir, once, the first time a test needs it. Tests under tests/unit never
  start it.
* Fixtures: ``live`` (session; ``.base_url``, ``.local``/``.is_local``, ``.logs()``,
  ``.wait_for_log()``), ``client`` (an ``httpx.Client`` on the base URL), ``browser``
  (session; a headless Chromium driven by Selenium, tests/browser.py, for the pages),
  ``expect_5xx`` (declare a request whose 5xx answer, and every error line about it, is
  intended) and ``expect_error`` (declare an error line by its message).
* The error audit (tests/log_audit.py), when the runtime was started here: a test owns
  the log lines logged from its set-up to its teardown. A line with a ``status`` >= 500
  or ``"level": "error"`` that its test did not declare, or a declaration its span does
  not bear out, fails that test at teardown; such a line logged while no test ran fails
  the session. Each failure names the request and the test that sent it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import traffic
from tests.log_audit import Declarations, Span, describe, missing, outside, undeclared
from tests.webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
E2E_DIR = ROOT / "tests" / "e2e"
RUNTIME_MAIN = "scripts/runtime/main.mjs"

# Settings passed to the local runtime as `--var KEY:VALUE` (they override wrangler.toml [vars]).
TEST_VARS: dict[str, str] = {
    "JWT_SECRET": "test-secret-for-e2e-only-0123456789abcdef",
    # A rotation under way: tokens signed with this key still verify (tests/e2e/test_sessions.py).
    "JWT_PREVIOUS_SECRETS": "previous-test-secret-for-e2e-only-0123456789",
    "ADMIN_EMAILS": "admin@example.com,fuzz-admin@example.com",
    # Short enough that fault tests (tests/e2e/test_faults.py) take seconds, long enough for a loaded machine.
    "SERVICE_TIMEOUT_MS": "3000",
    "BREAKER_COOLDOWN_SECONDS": "2",
    "WEBHOOK_SECRET": "test-webhook-secret-for-e2e-only",
    "ALERT_WEBHOOK_SECRET": "test-alert-secret-for-e2e-only",
    # The 5xx-rate alert resolves a minute after a fault ends, not five (tests/e2e/test_alerts.py).
    "ALERT_ERROR_RATE_WINDOW_MINUTES": "1",
    # Short enough that tests/e2e/test_maintenance.py sees keys forgotten, and that
    # tests/e2e/test_erasure.py sees accounts erased.
    "IDEMPOTENCY_TTL_SECONDS": "3",
    "USER_PURGE_AFTER_SECONDS": "3",
    # Erasure steps retried 3 times, 1, 2 and 4 s apart: a step that always fails errors in
    # about 7 s (tests/e2e/test_erasure.py).
    "ERASURE_STEP_RETRIES": "3",
    "ERASURE_RETRY_DELAY_SECONDS": "1",
    # Login throttling in seconds, not minutes (tests/e2e/test_sessions.py waits them out);
    # the lock long enough that a loaded machine still sees it.
    "LOGIN_FAILURE_WINDOW_SECONDS": "10",
    "LOGIN_LOCKOUT_SECONDS": "3",
    "LOGIN_LOCKOUT_MAX_SECONDS": "6",
}

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
FAILED_TEST_LOG_LINES = 80  # runtime log lines attached to a failing e2e test's report

_LIVE = pytest.StashKey["Live"]()
_LOG_START = pytest.StashKey[int]()
_INTERRUPTED = pytest.StashKey[bool]()
_FINISHING = pytest.StashKey[bool]()
_UNEXPECTED_5XX = pytest.StashKey[list]()
_RAISED_5XX = pytest.StashKey[bool]()
_DECLARED = pytest.StashKey[Declarations]()
_CALL_PASSED = pytest.StashKey[bool]()
_BARRIERS = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--base-url",
        default=None,
        metavar="URL",
        help="run the e2e tests against this running deployment instead of starting the local runtime",
    )
    traffic.add_options(parser)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.e2e)


def _is_e2e(item: pytest.Item) -> bool:
    return Path(item.path).resolve().is_relative_to(E2E_DIR)


class Live:
    """The system under test. ``logs()`` is empty unless the runtime was started here."""

    def __init__(self, base_url: str, local: bool) -> None:
        self.base_url = base_url.rstrip("/")
        self.local = local
        self.is_local = local
        self.info: dict[str, Any] = {}  # the runtime's "listening" line
        self.log_path: Path | None = None
        self.state_dir: Path | None = None  # --persist-to of a runtime started here
        self.proc: subprocess.Popen | None = None  # the runtime process, when started here
        self._lines: list[str] = []  # every stdout line, as printed
        self._records: list[dict[str, Any]] = []  # the stdout lines that are JSON objects
        self._stderr: list[str] = []
        self.spans: list[Span] = []  # what each finished test logged, for the audit
        self._changed = threading.Condition()
        # The status of the first answer to `GET /health` sent from the moment the runtime
        # was spawned (None: nothing answered). Start-up must hold requests until the
        # whole system is up, so this is 200 and never a "still starting" 503.
        self.first_health_status: int | None = None

    def logs(self, since: int = 0) -> list[dict[str, Any]]:
        """The parsed JSON log lines so far; ``since`` is a value of ``mark()``."""
        with self._changed:
            return self._records[since:]

    def mark(self) -> int:
        """A position in ``logs()``: ``logs(since=mark)`` is what came after it."""
        with self._changed:
            return len(self._records)

    def raw_lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    def wait_for_log(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0, since: int = 0
    ) -> dict[str, Any]:
        """The first log record (from ``since``) matching ``predicate``, waiting up to ``timeout`` s."""
        if not self.local:
            pytest.skip("the log of a deployment given by --base-url is not visible to the tests")
        deadline = time.monotonic() + timeout
        with self._changed:
            checked = since
            while True:
                for record in self._records[checked:]:
                    if predicate(record):
                        return record
                checked = max(checked, len(self._records))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no log line matched within {timeout} s")
                self._changed.wait(left)

    def barrier(self) -> int:
        """A ``mark()`` after every line of the requests answered so far.

        Why: the runtime logs a request's lines before it answers, but they reach this
        process through a pipe and a reader thread; once the access line of one more
        request (an unknown route) is in, so are the lines of every earlier answer."""
        n = next(_BARRIERS)
        request_id, since = f"log-barrier-{n}", self.mark()
        headers = {"X-Request-ID": request_id, "CF-Connecting-IP": f"203.0.113.{n % 250 + 1}"}
        with contextlib.suppress(httpx.HTTPError, AssertionError):  # a dead runtime fails its tests itself
            httpx.get(f"{self.base_url}/__log-barrier__", headers=headers, timeout=30)
            self.wait_for_log(lambda r: r.get("request_id") == request_id and "status" in r, timeout=30, since=since)
        return self.mark()

    def audit_outside_tests(self) -> list[str]:
        with self._changed:
            return [describe(self._records, self.spans, at) for at in outside(self._records, self.spans)]

    # -- fed by the reader threads --
    def _add_stdout(self, line: str) -> None:
        record = None
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
        with self._changed:
            self._lines.append(line)
            if isinstance(record, dict):
                self._records.append(record)
                if not self.info and record.get("event") == "listening" and record.get("source") == "local-runtime":
                    self.info = record
            self._changed.notify_all()

    def _add_stderr(self, line: str) -> None:
        with self._changed:
            self._stderr.append(line)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if pytest dies without tearing down (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort: not every libc has prctl
        pass


def _reader(stream, sink: Callable[[str], None]) -> threading.Thread:
    def run() -> None:
        for line in stream:
            sink(line.rstrip("\r\n"))
        stream.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _first_health_poller(live: Live, proc: subprocess.Popen) -> threading.Thread:
    """Asks for /health until the port answers at all, and records that first answer."""

    def run() -> None:
        while proc.poll() is None:
            try:
                answer = httpx.get(f"{live.base_url}/health", timeout=START_TIMEOUT_S)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            live.first_health_status = answer.status_code
            return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _dump(live: Live) -> str:
    stdout, stderr = live.raw_lines(), list(live._stderr)
    return "--- stderr ---\n" + "\n".join(stderr) + "\n--- stdout ---\n" + "\n".join(stdout)


@pytest.fixture(scope="session")
def webhook_receiver():
    """Where the local runtime's orders worker delivers its webhooks (NOTIFY_WEBHOOK_URL)."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def alert_receiver():
    """Where the local runtime's gateway POSTs its alerts (ALERT_WEBHOOK_URL)."""
    receiver = WebhookReceiver("/alerts")
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def live(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    webhook_receiver: WebhookReceiver,
    alert_receiver: WebhookReceiver,
):
    config = request.config
    base_url = config.getoption("--base-url")
    if base_url:
        live = Live(base_url, local=False)
        config.stash[_LIVE] = live
        yield live
        return

    node = VENV_BIN / "node"
    if not node.exists():
        pytest.fail(f"{node} is missing: run scripts/setup (or use scripts/test)", pytrace=False)
    work = tmp_path_factory.mktemp("local-runtime")
    port = _free_port()
    command = [str(node), RUNTIME_MAIN, "--port", str(port), "--persist-to", str(work / "state")]
    receivers = {"NOTIFY_WEBHOOK_URL": webhook_receiver.url, "ALERT_WEBHOOK_URL": alert_receiver.url}
    for key, value in {**TEST_VARS, **receivers}.items():
        command += ["--var", f"{key}:{value}"]
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    live = Live(f"http://127.0.0.1:{port}", local=True)
    live.log_path = work / "runtime.log"
    live.state_dir = work / "state"
    config.stash[_LIVE] = live
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    live.proc = proc
    readers = [_reader(proc.stdout, live._add_stdout), _reader(proc.stderr, live._add_stderr)]
    readers.append(_first_health_poller(live, proc))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with live._changed:
            while not live.info:
                if proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    break
                live._changed.wait(0.2)
        if not live.info:
            exited = proc.poll()
            _stop(proc)
            for thread in readers:
                thread.join(timeout=5)
            what = (
                f"exited with status {exited}" if exited is not None else f"did not listen within {START_TIMEOUT_S} s"
            )
            pytest.fail(f"local runtime ({' '.join(command)}) {what}\n{_dump(live)}", pytrace=False)
        live.base_url = str(live.info.get("url") or live.base_url).rstrip("/")
        yield live
    finally:
        _stop(proc)
        for thread in readers:
            thread.join(timeout=5)
        live.log_path.write_text(_dump(live) + "\n", encoding="utf-8")

    # The audit of what no test owns. Raised here it is an error in the last test's teardown;
    # when the teardown runs inside pytest_sessionfinish (-x, Ctrl-C) pytest_sessionfinish reports it.
    unexpected = live.audit_outside_tests()
    if unexpected and not config.stash.get(_INTERRUPTED, False):
        config.stash[_UNEXPECTED_5XX] = unexpected
        if not config.stash.get(_FINISHING, False):
            config.stash[_RAISED_5XX] = True
            pytest.fail(_unexpected_5xx_message(unexpected, live), pytrace=False)


def _unexpected_5xx_message(problems: list[str], live: Live) -> str:
    shown = "\n".join(problems)
    return (
        f"the local runtime logged {len(problems)} 5xx or error line(s) while no test ran "
        f"(full log: {live.log_path}):\n{shown}"
    )


@pytest.fixture(autouse=True)
def _e2e_live(request: pytest.FixtureRequest):
    """Every e2e test gets ``live``; any test using it gets its slice of the log on failure
    and has the lines it logged audited at its teardown."""
    if not (_is_e2e(request.node) or "live" in request.fixturenames):
        yield
        return
    live = request.getfixturevalue("live")
    if not live.local:
        yield
        return
    _end_if_dead(live, f"before {request.node.nodeid}")
    request.node.stash[_LOG_START] = len(live.raw_lines())
    declared = request.node.stash.setdefault(_DECLARED, Declarations())
    span = Span(request.node.nodeid, live.mark(), 0)
    yield
    _end_if_dead(live, f"while {request.node.nodeid} ran")
    span = Span(span.test, span.start, live.barrier())
    live.spans.append(span)
    _audit(live, span, declared, check_missing=request.node.stash.get(_CALL_PASSED, False))


def _end_if_dead(live: Live, when: str) -> None:
    """A runtime that died ends the session with this one error, not a connection error per later test."""
    exited = live.proc.poll() if live.proc is not None else None
    if exited is None:
        return
    tail = "\n".join(live.raw_lines()[-FAILED_TEST_LOG_LINES:])
    pytest.exit(
        f"the local runtime died (exit status {exited}) {when}; no later e2e test can run.\n"
        f"Its last log lines (full log: {live.log_path}):\n{tail}\n--- stderr ---\n" + "\n".join(live._stderr[-20:]),
        returncode=1,
    )


def _audit(live: Live, span: Span, declared: Declarations, check_missing: bool) -> None:
    """Fails the test whose span holds an undeclared problem, or (when it passed) lacks a declared one."""
    records = live.logs()
    problems = [describe(records, live.spans, at) for at in undeclared(records, span, declared)]
    if check_missing:
        problems += missing(records, span, declared)
    if problems:
        shown = "\n".join(problems)
        pytest.fail(
            f"the error audit of what this test logged (declare intended ones with expect_5xx or expect_error; "
            f"full log: {live.log_path}):\n{shown}",
            pytrace=False,
        )


@pytest.fixture
def client(live: Live):
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        yield http


@pytest.fixture
def expect_5xx(request: pytest.FixtureRequest, live: Live) -> Callable[[Any], str | None]:
    """``expect_5xx(request_id_or_response)``: that request's 5xx, and the error lines about it,
    are intended by this test; the test fails if that request logged no 5xx while it ran."""
    declared = request.node.stash.setdefault(_DECLARED, Declarations())

    def declare(target: Any) -> str | None:
        request_id = target.headers.get("x-request-id") if isinstance(target, httpx.Response) else target
        if not request_id:
            raise ValueError(f"expect_5xx needs a request id (an x-request-id header), got {target!r}")
        declared.requests.append(str(request_id))
        return str(request_id)

    return declare


@pytest.fixture
def expect_error(request: pytest.FixtureRequest, live: Live) -> Callable[[str], None]:
    """``expect_error(message_part)``: error lines whose message contains it are intended by
    this test (a failed cron run, a dead interpreter); the test fails if none was logged."""
    declared = request.node.stash.setdefault(_DECLARED, Declarations())
    return declared.errors.append


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    start = item.stash.get(_LOG_START, None)
    live = item.config.stash.get(_LIVE, None)
    if report.failed and start is not None and live is not None and live.local:
        lines = live.raw_lines()[start:]
        if len(lines) > FAILED_TEST_LOG_LINES:
            lines = [
                f"... {len(lines) - FAILED_TEST_LOG_LINES} earlier lines in {live.log_path}",
                *lines[-FAILED_TEST_LOG_LINES:],
            ]
        report.sections.append((f"local runtime log ({report.when})", "\n".join(lines)))
    return report


class _SessionAudit:
    """Reports the 5xx audit when the session fixtures are torn down inside
    pytest_sessionfinish rather than in the last test's teardown: a fixture error raised
    there would crash pytest instead of failing the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_keyboard_interrupt(self) -> None:
        self.config.stash[_INTERRUPTED] = True

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        self.config.stash[_FINISHING] = True
        result = yield  # the session-scoped fixtures are torn down in here
        unexpected = self.config.stash.get(_UNEXPECTED_5XX, None)
        if unexpected and not self.config.stash.get(_RAISED_5XX, False):
            message = _unexpected_5xx_message(unexpected, self.config.stash[_LIVE])
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_sep("=", "5xx or error lines logged while no test ran", red=True)
                reporter.write_line(message)
            else:
                print(message, file=sys.stderr)
            if session.exitstatus == 0:
                session.exitstatus = 1
        return result


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SessionAudit(config), "e2e-5xx-audit")
    traffic.register(config)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    live = config.stash.get(_LIVE, None)
    if live is not None and live.local and live.log_path is not None:
        terminalreporter.write_line(f"local runtime log: {live.log_path}")


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the page tests (tests/browser.py): `browser.open(url)`, then
    `.wait_for_all(css)`, `.requested_urls()`, `.console_errors()`. Without a browser on this
    machine the tests skip and say why; under CI=true they fail instead, since CI must run them."""
    from tests.browser import Browser, find_browser

    installed, why_not = find_browser()
    if installed is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no browser for the page tests: {why_not}", pytrace=False)
        pytest.skip(why_not)
    session = Browser(installed)
    try:
        yield session
    finally:
        session.close()
