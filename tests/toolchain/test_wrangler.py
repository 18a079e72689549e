"""The real toolchain accepts the project, offline: `wrangler dev` and `wrangler deploy --dry-run`.

`wrangler dev` cannot run a Python worker here (workerd downloads the Pyodide bundle at
start), but everything before that download is the real check of the configs: dates,
flags, bindings, modules. The release it asks for is the one production runs, and the
local runtime must run exactly that one.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.toolchain.tools import BUNDLE, CONFIGS, NODE, PINS, ROOT, copy_project, offline_dev_output, plain, wrangler

PYWRANGLER_MIN_WRANGLER = (4, 127, 1)  # workers-py 1.17: "requires wrangler >= 4.127.1"


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def config(path: str) -> dict:
    return tomllib.loads((ROOT / path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dev_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    output = offline_dev_output(tmp_path_factory.mktemp("wrangler-home"))
    if BUNDLE.search(output) is None and "Ready on" in output:
        pytest.skip("this machine reached the network: wrangler dev started, so there is no offline stop to read")
    return output


def test_pinned_wrangler_is_the_installed_one_and_meets_pywrangler():
    installed = json.loads((ROOT / "node_modules/wrangler/package.json").read_text(encoding="utf-8"))["version"]
    assert installed == PINS["wrangler"]
    assert version(installed) >= (4, 164, 0)
    assert version(installed) >= PYWRANGLER_MIN_WRANGLER


def test_pywrangler_finds_the_pinned_uv_it_runs():
    """pywrangler shells out to `uv` (npm run dev:wrangler, npm run deploy): set-up puts the pinned one in .venv/bin."""
    from pywrangler.utils import MIN_UV_VERSION

    pinned = re.search(r"^uv==(\S+)$", (ROOT / "requirements-dev.txt").read_text(encoding="utf-8"), re.M)
    assert pinned, "uv must be pinned in requirements-dev.txt"
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "uv"), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.split()[1] == pinned[1]
    assert version(pinned[1]) >= MIN_UV_VERSION


def test_wranglers_workerd_supports_every_config_date():
    workerd = ROOT / "node_modules/wrangler/node_modules/workerd/package.json"
    if not workerd.exists():  # hoisted when nothing else pins another workerd
        workerd = ROOT / "node_modules/workerd/package.json"
    newest = json.loads(workerd.read_text(encoding="utf-8"))["version"].split(".")[1]
    for path in CONFIGS:
        date = config(path)["compatibility_date"].replace("-", "")
        assert date <= newest, f"{path}: compatibility_date {date} is newer than wrangler's workerd ({newest})"


def test_wrangler_dev_stops_only_at_the_pyodide_download(dev_output):
    assert BUNDLE.search(dev_output), dev_output[-3000:]
    errors = [line for line in dev_output.splitlines() if "[ERROR]" in line]
    expected = ("*** Uncaught exception ***", "The Workers runtime failed to start")
    unexpected = [line for line in errors if not any(text in line for text in expected)]
    assert not unexpected, f"wrangler dev refused something before the download: {unexpected}"
    for path in CONFIGS:  # every worker got as far as its bindings
        assert f"{config(path)['name']} has access to the following bindings" in dev_output


def test_local_runtime_runs_the_release_wrangler_dev_asks_for(dev_output, live):
    asked = BUNDLE.search(dev_output)["release"]
    with httpx.Client(base_url=live.base_url, timeout=30) as client:
        runtime = client.get("/health").json()["runtime"]
    assert runtime["pyodide"] == asked, f"wrangler dev asks for Pyodide {asked}, the system runs {runtime}"
    assert PINS["pyodide"] == asked


WORKER_PACKAGES = {"gateway", "users", "orders"}
SHARED_PACKAGES = {"shared", "contracts"}


VENDORED = "python_modules"


def pyodide_pins() -> dict[str, str]:
    """requirements-pyodide.txt as {normalised name: version}: what each upload vendors."""
    pins = {}
    for line in (ROOT / "requirements-pyodide.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, pinned = line.split("==")
            pins[re.sub(r"[-_.]+", "_", name).lower()] = pinned
    return pins


@pytest.mark.parametrize("path", CONFIGS)
def test_each_upload_holds_its_own_package_and_what_it_shares(path: str, tmp_path: Path, upload_report):
    """The dry run writes exactly what deploy would upload: no other worker's code in it,
    and every package pywrangler vendors (set-up fills python_modules from the same pins)."""
    out = tmp_path / "out"
    done = wrangler(["deploy", "--dry-run", "--outdir", str(out), "-c", path], tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    main = Path(config(path)["main"])
    assert (out / main.name).is_file(), f"the main module {main.name} must land at the upload's root"
    own = main.parent.name
    modules = sorted(p.relative_to(out) for p in out.rglob("*.py") if p.relative_to(out).parts[0] != VENDORED)
    packages = {m.parts[0] for m in modules if len(m.parts) > 1}
    foreign = packages & (WORKER_PACKAGES - {own})
    assert not foreign, f"{config(path)['name']} uploads other workers' code: {sorted(foreign)}"
    assert packages == {own} | SHARED_PACKAGES, packages
    dists = [d.name.removesuffix(".dist-info").rsplit("-", 1) for d in (out / VENDORED).glob("*.dist-info")]
    vendored = {re.sub(r"[-_.]+", "_", name).lower(): pinned for name, pinned in dists}
    assert vendored == pyodide_pins(), f"python_modules must hold exactly the pins (run scripts/setup): {vendored}"
    assert list((out / VENDORED / "pydantic_core").glob("*wasm32-emscripten.so")), "pydantic_core's wasm module"
    size = sum(f.stat().st_size for f in (out / VENDORED).rglob("*") if f.is_file())
    upload_report[config(path)["name"]] = (len(modules), sum((out / m).stat().st_size for m in modules), size)


@pytest.mark.parametrize("path", CONFIGS)
def test_packages_pywrangler_vendors_ship_with_every_worker(path: str, tmp_path: Path):
    """`pywrangler sync` vendors into python_modules/ beside pyproject.toml, but wrangler looks
    beside each config: the services' python_modules links must bring the same packages."""
    project = copy_project(tmp_path / "project")
    vendored = project / "python_modules" / "vendored_probe"
    vendored.mkdir(parents=True)
    (vendored / "__init__.py").write_text("VENDORED = True\n", encoding="utf-8")
    done = wrangler(
        ["deploy", "--dry-run", "--outdir", str(tmp_path / "out"), "-c", path], tmp_path / "home", cwd=project
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "python_modules" / "vendored_probe" / "__init__.py").is_file()


@pytest.mark.parametrize("service", ["users", "orders"])
def test_wrangler_finds_the_runtimes_migrations_applied(live, service: str, tmp_path: Path):
    """The runtime applies migrations with wrangler's bookkeeping, so the two share a state dir."""
    if live.state_dir is None:
        pytest.skip("needs the state dir of a local runtime started by this run")
    args = ["d1", "migrations", "list", f"edge-{service}", "--local", "-c", f"services/{service}/wrangler.toml"]
    done = wrangler([*args, "--persist-to", str(live.state_dir)], tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No migrations to apply" in plain(done.stdout + done.stderr)


def test_deployable_configs_make_nobody_an_admin_and_hold_no_secrets():
    """What is committed deploys safely as it is: admins come from scripts/make-admin only."""
    assert config("services/users/wrangler.toml")["vars"]["ADMIN_EMAILS"] == ""
    for path in CONFIGS:
        names = set(config(path).get("vars", {}))
        assert not names & {"JWT_SECRET", "WEBHOOK_SECRET"}, f"{path} commits a secret"
        assert _ignored(path), f"the .dev.vars beside {path} would be committed"


def _ignored(path: str) -> bool:
    dev_vars = str(Path(path).with_name(".dev.vars"))
    return subprocess.run(["git", "check-ignore", "-q", dev_vars], cwd=ROOT).returncode == 0


def test_the_gateway_deploy_builds_and_ships_its_static_assets(tmp_path: Path):
    """From a clean tree, the gateway's build assembles dist/public (the /docs page and the
    Swagger UI files from node_modules) before wrangler reads it as the ASSETS binding."""
    project = copy_project(tmp_path / "project")
    assert not (project / "dist").exists()
    done = wrangler(
        ["deploy", "--dry-run", "--outdir", str(tmp_path / "out"), "-c", "wrangler.toml"],
        tmp_path / "home",
        cwd=project,
    )
    output = plain(done.stdout + done.stderr)
    assert done.returncode == 0, output
    public = project / config("wrangler.toml")["assets"]["directory"]
    assert f"from the assets directory {public}" in output and "env.ASSETS" in output, output
    shipped = {path.relative_to(public).as_posix() for path in public.rglob("*") if path.is_file()}
    assert {"_headers", "docs.html", "docs/reference.js", "docs/vendor/swagger-ui/swagger-ui-bundle.js"} <= shipped


def test_a_second_build_of_unchanged_sources_leaves_the_served_assets_in_place(tmp_path: Path):
    """Every runtime start runs the build; a second runtime from the same checkout must not
    swap dist/public out from under the first one's asset server (it answered 502 after),
    while a changed page is still swapped in whole."""
    project = copy_project(tmp_path / "project")

    def build() -> Path:
        subprocess.run([str(NODE), "scripts/assemble.mjs", "gateway"], cwd=project, check=True)
        return project / "dist" / "public"

    first = build().stat().st_ino
    assert build().stat().st_ino == first
    with (project / "src" / "pages" / "_headers").open("a", encoding="utf-8") as headers:
        headers.write("# a changed page\n")
    public = build()
    assert public.stat().st_ino != first
    assert (public / "_headers").read_text(encoding="utf-8").endswith("# a changed page\n")
    assert not list(public.parent.glob("public.tmp-*"))
