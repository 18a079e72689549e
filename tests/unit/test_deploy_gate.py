"""The deploy gate's decision (scripts/deploy.py) and the traffic report it reads (tests/traffic.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from tests.traffic import percentile, summary

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("deploy_script", ROOT / "scripts" / "deploy.py")
assert _spec is not None and _spec.loader is not None
deploy = importlib.util.module_from_spec(_spec)
sys.modules["deploy_script"] = deploy
_spec.loader.exec_module(deploy)

LIMITS = deploy.Limits(max_5xx_rate=0.0, max_p95_ms=3000.0)


def test_the_report_counts_5xx_and_latency_percentiles() -> None:
    report = summary([(200, 10.0), (201, 20.0), (503, 30.0), (404, 4000.0)])
    assert report["requests"] == 4 and report["server_errors"] == 1 and report["server_error_rate"] == 0.25
    assert report["latency_ms"] == {"p50": 20.0, "p95": 4000.0, "max": 4000.0}
    assert percentile([], 0.95) == 0.0 and percentile([5.0], 0.5) == 5.0


def test_the_gate_passes_a_clean_fast_run_only() -> None:
    clean = summary([(200, 100.0)] * 40)
    assert deploy.verdict(True, clean, LIMITS)[0]
    assert not deploy.verdict(False, clean, LIMITS)[0], "a failed smoke test fails the gate"
    one_5xx = summary([(200, 100.0)] * 39 + [(500, 100.0)])
    ok, line = deploy.verdict(True, one_5xx, LIMITS)
    assert not ok and "1 5xx" in line and line.endswith("FAIL")
    assert deploy.verdict(True, one_5xx, deploy.Limits(0.05, 3000.0))[0]
    slow = summary([(200, 100.0)] * 30 + [(200, 5000.0)] * 10)
    assert not deploy.verdict(True, slow, LIMITS)[0]
    assert not deploy.verdict(True, summary([]), LIMITS)[0], "a run that sent nothing proves nothing"


def test_the_rollback_target_is_the_version_at_100_percent() -> None:
    whole = {"id": "d1", "versions": [{"version_id": "v-old", "percentage": 100}]}
    split = {
        "id": "d2",
        "versions": [{"version_id": "v-new", "percentage": 10}, {"version_id": "v-old", "percentage": 90}],
    }
    assert deploy.stable_version("⛅️ wrangler\n" + json.dumps(whole)) == "v-old"
    assert deploy.stable_version(json.dumps(split)) is None
    assert deploy.stable_version("✘ The Worker edge-users-staging has no deployments.") is None


def test_version_overrides_name_every_worker() -> None:
    header = deploy.version_overrides({"edge-users-staging": "u1", "edge-gateway-staging": "g1"})
    assert header == 'edge-users-staging="u1", edge-gateway-staging="g1"'


ROLES = {"services/users/wrangler.toml": "users", "services/orders/wrangler.toml": "orders", "wrangler.toml": "gateway"}


class ScriptedShell(deploy.Shell):
    """Runs nothing: records each command and answers as Cloudflare would, per the script."""

    def __init__(self, live: dict[str, str | None], gate: list[tuple[int, float]]) -> None:
        super().__init__(dry_run=False)
        self.live, self.gate, self.commands = live, gate, []

    def execute(self, argv, env, capture):
        command = list(argv)
        self.commands.append(command)
        role = ROLES.get(command[command.index("-c") + 1]) if "-c" in command else None
        worker = f"edge-{role}-{command[command.index('--env') + 1]}" if role else None
        stdout, status = "", 0
        if command[:3] == ["wrangler", "deployments", "status"]:
            version = self.live[worker]
            status = 0 if version else 1
            stdout = (
                json.dumps({"versions": [{"version_id": version, "percentage": 100}]})
                if version
                else "has no deployments"
            )
        elif command[0] == "pywrangler":
            Path(env["WRANGLER_OUTPUT_FILE_PATH"]).write_text(json.dumps({"version_id": f"new-{worker}"}) + "\n")
        elif command[0] == "scripts/test":
            report = Path(ROOT / command[command.index("--traffic-report") + 1])
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(json.dumps(summary(self.gate)))
        return deploy.subprocess.CompletedProcess(command, status, stdout, "")


def release(shell: ScriptedShell, environment: str, tmp_path: Path) -> None:
    args = deploy.parse(
        ["--env", environment, "--base-url", "https://gw.example", "--tag", "t1", "--bake-seconds", "0"]
    )
    release = deploy.Release(args, shell, report_dir=tmp_path)
    release.preflight = lambda: None  # the committed ids are placeholders
    release.run()


def names(environment: str) -> dict[str, str | None]:
    return {f"edge-{role}-{environment}": f"old-{role}" for role in ("users", "orders", "gateway")}


def test_a_failed_gate_rolls_every_worker_back_gateway_first(tmp_path: Path) -> None:
    shell = ScriptedShell(names("production"), gate=[(200, 50.0)] * 20 + [(502, 50.0)])
    try:
        release(shell, "production", tmp_path)
        raise AssertionError("the gate should have failed")
    except SystemExit as stop:
        assert "the gate failed at 10%" in str(stop)
    deploys = [c for c in shell.commands if c[:3] == ["wrangler", "versions", "deploy"]]
    assert [c[3:5] for c in deploys] == [
        [f"new-edge-{r}-production@10%", f"old-{r}@90%"] for r in ("orders", "users", "gateway")
    ]
    rollbacks = [c[2] for c in shell.commands if c[:2] == ["wrangler", "rollback"]]
    assert rollbacks == ["old-gateway", "old-users", "old-orders"]
    assert shell.commands[-1][:2] == ["wrangler", "rollback"], "nothing runs after the rollback"


def test_a_passing_release_ends_at_100_percent_and_a_first_release_deploys_whole(tmp_path: Path) -> None:
    live = {**names("staging"), "edge-gateway-staging": None}
    shell = ScriptedShell(live, gate=[(200, 50.0)] * 20)
    release(shell, "staging", tmp_path)
    first = [c for c in shell.commands if c[:2] == ["pywrangler", "deploy"]]
    assert [c[2:6] for c in first] == [["--env", "staging", "-c", "wrangler.toml"]], "the gateway's first release"
    deploys = [c for c in shell.commands if c[:3] == ["wrangler", "versions", "deploy"]]
    assert [c[3] for c in deploys] == ["new-edge-orders-staging@100%", "new-edge-users-staging@100%"]
    assert not [c for c in shell.commands if c[:2] == ["wrangler", "rollback"]]


def test_an_unfinished_rollout_or_an_unreadable_deployment_stops_the_release(tmp_path: Path) -> None:
    class Split(ScriptedShell):
        def execute(self, argv, env, capture):
            done = super().execute(argv, env, capture)
            if list(argv)[:3] == ["wrangler", "deployments", "status"]:
                split = {"versions": [{"version_id": "a", "percentage": 10}, {"version_id": "b", "percentage": 90}]}
                return deploy.subprocess.CompletedProcess(argv, 0, json.dumps(split), "")
            return done

    shell = Split(names("production"), gate=[])
    try:
        release(shell, "production", tmp_path)
        raise AssertionError("a split deployment must stop the release")
    except SystemExit as stop:
        assert "split between versions" in str(stop)
    assert not [c for c in shell.commands if c[0] == "pywrangler"]
