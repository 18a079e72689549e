"""The release pipeline, one copy for a laptop (README: Deploy) and for GitHub Actions.

    scripts/deploy --env staging|production --base-url URL [--dry-run] [--tag T] [--message M]

In order, for one environment (each step stops the run when it fails):
1. preflight: no binding id of the environment is still a committed placeholder;
2. D1 migrations `--remote` (expand-only: scripts/check_migrations.py, in scripts/test);
3. the version each worker serves now (`wrangler deployments status`): the rollback target;
4. `pywrangler versions upload` (pywrangler vendors the packages first), the services
   before the gateway; a worker with no deployment yet gets its first `pywrangler deploy`;
5. per rollout step (staging 100%; production 10% then 100%): `wrangler versions deploy`
   of every worker, services first (then `wrangler triggers deploy` once: crons, queue
   consumers and routes are not versioned); production bakes a while; then
6. the gate: the e2e smoke subset against --base-url, sent to the new versions
   (Cloudflare-Workers-Version-Overrides); it passes when every smoke test passes, the
   5xx rate is at most --max-5xx-rate and p95 latency at most --max-p95-ms. A failed gate
   runs `wrangler rollback` to the versions of step 3, gateway first, and exits 1.

`--dry-run` prints that plan, runs nothing and needs no network; version ids it cannot know
yet are shown as <...>.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROLLOUT = {"staging": (100,), "production": (10, 100)}
BAKE_SECONDS = {"staging": 0, "production": 60}  # production: the new version takes real traffic first
# Orders before users: the users worker binds orders (its erasure workflow's steps), and a
# first deploy of a worker whose service binding names no deployed worker is refused.
SERVICES_FIRST = (("orders", "services/orders/wrangler.toml"), ("users", "services/users/wrangler.toml"))
GATEWAY = ("gateway", "wrangler.toml")
# The ids committed for staging and production start with eight zeros: placeholders for
# the ids `wrangler d1 create` / `wrangler kv namespace create` print on your account.
PLACEHOLDER_ID = re.compile(r"^0{8}")
ID_KEYS = ("id", "database_id", "preview_id")
REPORT_DIR = ROOT / ".wrangler" / "deploy"
# What `wrangler deployments status` says of a worker never deployed (any other failure,
# a bad token say, stops the release instead of passing for a first one).
NEVER_DEPLOYED = re.compile(r"has no deployments|does not exist|not found|\b10007\b", re.IGNORECASE)


@dataclass(frozen=True)
class Worker:
    """One worker's config, seen in one environment."""

    role: str
    config: str
    environment: str
    table: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.table["name"])

    @property
    def databases(self) -> list[str]:
        return [db["database_name"] for db in self.table.get("d1_databases", [])]

    def placeholders(self) -> list[str]:
        return [f"{key} {value}" for key, value in _ids(self.table) if PLACEHOLDER_ID.match(value)]

    def args(self) -> list[str]:
        return ["--env", self.environment, "-c", self.config]


def _ids(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ID_KEYS and isinstance(inner, str):
                yield key, inner
            else:
                yield from _ids(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _ids(inner)


def workers(environment: str) -> list[Worker]:
    """The three workers in deploy order: each after the workers it binds (orders, users, gateway)."""
    found = []
    for role, config in (*SERVICES_FIRST, GATEWAY):
        whole = tomllib.loads((ROOT / config).read_text(encoding="utf-8"))
        table = whole.get("env", {}).get(environment)
        if table is None:
            raise SystemExit(f"deploy: {config} has no [env.{environment}]")
        found.append(Worker(role, config, environment, table))
    return found


Completed = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Limits:
    max_5xx_rate: float
    max_p95_ms: float


def verdict(tests_passed: bool, report: dict[str, Any], limits: Limits) -> tuple[bool, str]:
    """The gate's decision on one smoke run, and the line that explains it."""
    rate, p95 = float(report["server_error_rate"]), float(report["latency_ms"]["p95"])
    ok = tests_passed and report["requests"] > 0 and rate <= limits.max_5xx_rate and p95 <= limits.max_p95_ms
    line = (
        f"smoke tests {'passed' if tests_passed else 'FAILED'}; {report['requests']} requests, "
        f"{report['server_errors']} 5xx ({rate:.1%} <= {limits.max_5xx_rate:.1%}?), "
        f"p95 {p95:.0f} ms (<= {limits.max_p95_ms:.0f} ms?): {'pass' if ok else 'FAIL'}"
    )
    return ok, line


def version_overrides(versions: dict[str, str]) -> str:
    """The Cloudflare-Workers-Version-Overrides dictionary: each worker's new version."""
    return ", ".join(f'{name}="{version}"' for name, version in versions.items())


class Shell:
    """Prints each command as it would be typed, then runs it (or, in a dry run, only prints)."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.steps = 0

    def step(self, title: str) -> None:
        self.steps += 1
        print(f"\n== {self.steps}. {title}", flush=True)

    def note(self, text: str) -> None:
        print(f"   {text}", flush=True)

    def execute(
        self, argv: Sequence[str], env: dict[str, str] | None, capture: bool
    ) -> subprocess.CompletedProcess[str]:
        """Runs one command from the repository root (the one place anything is run)."""
        return subprocess.run(
            list(argv), cwd=ROOT, env={**os.environ, **(env or {})}, text=True, capture_output=capture, check=False
        )

    def run(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> bool:
        """Prints and runs a command (False: a dry run ran nothing). Exits on failure."""
        print("$ " + shlex.join(argv), flush=True)
        if self.dry_run:
            return False
        done = self.execute(argv, env, capture=False)
        if done.returncode != 0:
            raise SystemExit(f"deploy: failed ({done.returncode}): {shlex.join(argv)}")
        return True

    def probe(self, argv: Sequence[str]) -> tuple[int, str]:
        """A read whose failure is an answer: (exit status, stdout and stderr)."""
        print("$ " + shlex.join(argv), flush=True)
        done = self.execute(argv, None, capture=True)
        return done.returncode, done.stdout + done.stderr

    def check(self, argv: Sequence[str]) -> bool:
        """A command whose failure is an answer, its output shown as it comes."""
        print("$ " + shlex.join(argv), flush=True)
        return self.execute(argv, None, capture=False).returncode == 0


class Release:
    def __init__(self, args: argparse.Namespace, shell: Shell, report_dir: Path = REPORT_DIR) -> None:
        self.environment: str = args.env
        self.report_dir = report_dir
        self.workers = workers(self.environment)
        self.shell = shell
        self.base_url: str = args.base_url or "<--base-url>"
        self.tag: str = args.tag
        self.message: str = args.message
        self.limits = Limits(args.max_5xx_rate, args.max_p95_ms)
        self.bake_seconds: int = BAKE_SECONDS[self.environment] if args.bake_seconds is None else args.bake_seconds
        self.live: dict[str, str | None] = {}  # worker name -> the version it served before this release
        self.new: dict[str, str] = {}  # worker name -> the version this release made

    def run(self) -> None:
        self.preflight()
        self.migrate()
        self.read_live_versions()
        self.upload()
        steps = ROLLOUT[self.environment]
        for number, percent in enumerate(steps):
            self.deploy(percent, first=number == 0)
            self.gate(percent)
        done = "end of the plan" if self.shell.dry_run else "released"
        print(f"\ndeploy: {done}: {self.tag} on {self.environment}", flush=True)

    def preflight(self) -> None:
        self.shell.step(f"preflight: {self.environment} binds its own resources")
        missing = [(w, p) for w in self.workers for p in w.placeholders()]
        for worker, placeholder in missing:
            self.shell.note(f"{worker.config} [env.{self.environment}]: {placeholder} is a placeholder")
        if missing and not self.shell.dry_run:
            raise SystemExit(
                "deploy: create the resources and put their ids in the configs first (README: Deploy, step 2)"
            )
        if missing:
            self.shell.note("(a real run stops here until those ids are yours: README, Deploy, step 2)")

    def migrate(self) -> None:
        self.shell.step("D1 migrations, remote (expand-only: the live version keeps working on the new schema)")
        for worker in self.workers:
            for database in worker.databases:
                self.shell.run(["wrangler", "d1", "migrations", "apply", database, "--remote", *worker.args()])

    def read_live_versions(self) -> None:
        self.shell.step("the version each worker serves now (the rollback target)")
        for worker in self.workers:
            argv = ["wrangler", "deployments", "status", "--json", *worker.args()]
            if self.shell.dry_run:
                self.shell.run(argv)
                self.live[worker.name] = f"<live {worker.name}>"
                continue
            status, output = self.shell.probe(argv)
            if status != 0 and not NEVER_DEPLOYED.search(output):
                raise SystemExit(f"deploy: could not read {worker.name}'s deployment:\n{output}")
            live = stable_version(output) if status == 0 else None
            if status == 0 and live is None:
                raise SystemExit(
                    f"deploy: {worker.name} is split between versions (an unfinished rollout): finish it with"
                    f" `wrangler versions deploy` or undo it with `wrangler rollback`, then release again"
                )
            self.live[worker.name] = live
            self.shell.note(f"{worker.name}: {live or 'no deployment yet (first release)'}")

    def upload(self) -> None:
        self.shell.step("upload the new versions, services before the gateway (pywrangler vendors packages first)")
        for worker in self.workers:
            verb = ["versions", "upload"] if self.live[worker.name] else ["deploy"]
            if not self.live[worker.name]:
                self.shell.note(f"{worker.name} has no deployment yet: its first release deploys at once")
            argv = ["pywrangler", *verb, *worker.args(), "--tag", self.tag, "--message", self.message]
            self.new[worker.name] = self._version_of(argv) or f"<new {worker.name}>"

    def _version_of(self, argv: list[str]) -> str | None:
        """Runs an upload and reads the version id wrangler writes to its output file."""
        with tempfile.TemporaryDirectory() as tmp:
            output = Path(tmp) / "wrangler-output.json"
            if not self.shell.run(argv, env={"WRANGLER_OUTPUT_FILE_PATH": str(output)}):
                return None
            entries = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
        versions = [entry["version_id"] for entry in entries if entry.get("version_id")]
        if not versions:
            raise SystemExit(f"deploy: no version id in wrangler's output of {shlex.join(argv)}")
        return str(versions[-1])

    def deploy(self, percent: int, first: bool) -> None:
        self.shell.step(f"deploy the new versions at {percent}%, services before the gateway")
        for worker in self.workers:
            new, live = self.new[worker.name], self.live[worker.name]
            if not live:
                continue  # deployed whole by its first release
            specs = [f"{new}@{percent}%"] + ([f"{live}@{100 - percent}%"] if percent < 100 else [])
            message = f"{self.message} ({percent}%)"
            self.shell.run(["wrangler", "versions", "deploy", *specs, *worker.args(), "--yes", "--message", message])
        if first:
            self.shell.note("crons, queue consumers and routes are not versioned: applied once per release")
            for worker in self.workers:
                if self.live[worker.name]:
                    self.shell.run(["wrangler", "triggers", "deploy", *worker.args()])

    def gate(self, percent: int) -> None:
        self.shell.step(f"gate at {percent}%: the smoke subset on the new versions, 5xx rate and p95 latency")
        if self.bake_seconds:
            self.shell.note(f"bake {self.bake_seconds} s: the new versions take their share of real traffic first")
            if not self.shell.dry_run:
                time.sleep(self.bake_seconds)
        report = self.report_dir / f"{self.environment}-{percent}.json"
        argv = [
            "scripts/test",
            "tests/e2e",
            "-m",
            "smoke",
            "--base-url",
            self.base_url,
            "--header",
            f"Cloudflare-Workers-Version-Overrides: {version_overrides(self.new)}",
            "--traffic-report",
            os.path.relpath(report, ROOT),
        ]
        limits = f"5xx rate <= {self.limits.max_5xx_rate:.1%}, p95 <= {self.limits.max_p95_ms:.0f} ms"
        if self.shell.dry_run:
            self.shell.run(argv)
            self.shell.note(f"passes when every smoke test passes, {limits}; otherwise, gateway first:")
            self.rollback(percent)
            return
        report.unlink(missing_ok=True)
        passed = self.shell.check(argv)
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else _EMPTY_REPORT
        ok, line = verdict(passed, data, self.limits)
        self.shell.note(f"gate at {percent}%: {line}")
        if not ok:
            self.rollback(percent)
            raise SystemExit(f"deploy: the gate failed at {percent}%; {self.environment} is back on its live versions")

    def rollback(self, percent: int) -> None:
        for worker in reversed(self.workers):
            live = self.live[worker.name]
            if not live:
                self.shell.note(f"{worker.name}: nothing earlier to roll back to (its first release)")
                continue
            message = f"gate failed at {percent}% for {self.tag}"
            self.shell.run(["wrangler", "rollback", live, *worker.args(), "--yes", "--message", message])


_EMPTY_REPORT = {"requests": 0, "server_errors": 0, "server_error_rate": 0.0, "latency_ms": {"p95": 0.0}}


def stable_version(status_json: str) -> str | None:
    """The version at 100% in `wrangler deployments status --json` (None while split)."""
    try:
        deployment = json.loads(status_json[status_json.index("{") :])
    except ValueError:
        return None
    whole = [v["version_id"] for v in deployment.get("versions", []) if v.get("percentage") == 100]
    return whole[0] if whole else None


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, choices=sorted(ROLLOUT), help="the environment to release to")
    parser.add_argument("--base-url", help="the environment's gateway URL, for the smoke gate")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; run nothing")
    parser.add_argument("--tag", default=None, help="version tag (default: the commit, short)")
    parser.add_argument("--message", default=None, help="version and deployment message")
    parser.add_argument("--max-5xx-rate", type=float, default=0.0, help="gate: highest 5xx share (default 0)")
    parser.add_argument("--max-p95-ms", type=float, default=3000.0, help="gate: highest p95 latency (default 3000)")
    parser.add_argument("--bake-seconds", type=int, default=None, help="wait before each gate (production: 60)")
    args = parser.parse_args(argv)
    if not args.dry_run and not args.base_url:
        parser.error("--base-url is required (the gateway URL of the environment), except with --dry-run")
    args.tag = args.tag or git("rev-parse", "--short=12", "HEAD")
    args.message = (args.message or f"release {args.tag}")[:90]
    return args


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    shell = Shell(args.dry_run)
    mode = "dry run: prints the plan, runs nothing" if args.dry_run else "live"
    print(f"deploy: {args.env}, {mode}; tag {args.tag}")
    Release(args, shell).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
