"""Every deployed environment declares what the top level declares, and only its own resources.

The top level of each wrangler config is local development; `[env.staging]` and
`[env.production]` are what Cloudflare runs. wrangler inherits settings such as `main`,
`build`, `triggers` and `observability` into an environment, but never vars or bindings:
a var or binding added at the top level and forgotten in an environment deploys a worker
without it. So every environment must declare the same vars and bindings by name, and
each must point at its own workers, databases, namespaces and queues: a staging gateway
never calls production users, a staging consumer never drains a production queue.
(`tests/toolchain/test_environments_deploy.py` runs wrangler itself on each of them.)
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ("wrangler.toml", "services/users/wrangler.toml", "services/orders/wrangler.toml")
ENVIRONMENTS = ("staging", "production")

# Top-level keys wrangler inherits into an environment (anything else must be declared
# in each environment again). A new key that wrangler inherits belongs here; a binding never.
INHERITED = frozenset(
    {
        "name",
        "main",
        "base_dir",
        "compatibility_date",
        "compatibility_flags",
        "workers_dev",
        "preview_urls",
        "routes",
        "route",
        "build",
        "triggers",
        "observability",
        "limits",
        "placement",
        "assets",
        "migrations",
        "rules",
        "find_additional_modules",
        "preserve_file_names",
        "logpush",
        "upload_source_maps",
        "account_id",
        "keep_vars",
        "env",
    }
)
# Keys whose values name a resource; a deployed environment's all end in its own name.
RESOURCE_NAMES = ("service", "database_name", "queue", "dead_letter_queue", "dataset", "bucket_name", "index_name")
# Keys whose values are a resource's id on the account: never shared between environments.
RESOURCE_IDS = ("id", "database_id", "namespace_id", "preview_id")


def config(path: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / path).read_text(encoding="utf-8"))


def section(path: str, environment: str | None) -> dict[str, Any]:
    """The top level (None) or one environment's table of a config."""
    whole = config(path)
    return whole if environment is None else whole.get("env", {}).get(environment, {})


def suffix(environment: str | None) -> str:
    return "" if environment is None else f"-{environment}"


def declared(table: dict[str, Any], environment: str | None) -> set[str]:
    """The vars and bindings a section declares, as 'kind.NAME' ('vars.JWT_ISSUER',
    'services.USERS', 'queues.consumers.edge-order-events': a consumer is known by its
    queue, the environment's suffix removed)."""
    names: set[str] = set()
    for key, value in table.items():
        if key not in INHERITED:
            names |= set(_declarations(key, value, suffix(environment)))
    return names


def _declarations(path: str, value: Any, env_suffix: str) -> Iterator[str]:
    if isinstance(value, list) and all(isinstance(entry, dict) for entry in value):
        for entry in value:
            name = entry.get("binding") or entry.get("name") or str(entry.get("queue", "?"))
            yield f"{path}.{name.removesuffix(env_suffix) if env_suffix else name}"
    elif isinstance(value, dict) and path != "vars" and any(isinstance(v, (dict, list)) for v in value.values()):
        for key, inner in value.items():
            yield from _declarations(f"{path}.{key}", inner, env_suffix)
    elif isinstance(value, dict) and "binding" in value and path != "vars":
        yield f"{path}.{value['binding']}"
    elif isinstance(value, dict):
        yield from (f"{path}.{name}" for name in value)
    else:
        yield path


def resource_values(table: dict[str, Any], keys: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(key, value) of every resource name or id anywhere in a section's bindings."""
    for key, value in table.items():
        if key not in INHERITED and key != "vars":
            yield from _walk(value, keys)


def _walk(value: Any, keys: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in keys and isinstance(inner, (str, int)):
                yield key, str(inner)
            else:
                yield from _walk(inner, keys)
    elif isinstance(value, list):
        for entry in value:
            yield from _walk(entry, keys)


@pytest.mark.parametrize("path", CONFIGS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_declares_the_same_vars_and_bindings(path: str, environment: str) -> None:
    top, env = declared(section(path, None), None), declared(section(path, environment), environment)
    assert env, f"{path} has no [env.{environment}] (or it declares nothing)"
    assert not top - env, (
        f"{path}: declared at the top level but not in [env.{environment}] (wrangler does not inherit"
        f" vars or bindings; copy them into every environment): {sorted(top - env)}"
    )
    assert not env - top, f"{path}: [env.{environment}] declares what the top level lacks: {sorted(env - top)}"


@pytest.mark.parametrize("path", CONFIGS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_names_its_own_worker_and_resources(path: str, environment: str) -> None:
    table = section(path, environment)
    assert table.get("name") == f"{config(path)['name']}-{environment}", "each environment names its worker"
    names = list(resource_values(table, RESOURCE_NAMES))
    assert names, f"{path} [env.{environment}] names no resource"
    foreign = [(key, name) for key, name in names if not name.endswith((f"-{environment}", f"_{environment}"))]
    assert not foreign, f"{path} [env.{environment}] binds resources of another environment: {foreign}"


def test_no_resource_id_is_shared_between_environments() -> None:
    users: dict[str, set[str]] = {}  # "key=value" -> the environments that bind it
    for path in CONFIGS:
        for environment in (None, *ENVIRONMENTS):
            for key, value in resource_values(section(path, environment), RESOURCE_IDS):
                users.setdefault(f"{key}={value}", set()).add(environment or "top level")
    shared = {resource: sorted(where) for resource, where in users.items() if len(where) > 1}
    assert users and not shared, f"resource ids bound by more than one environment: {shared}"


@pytest.mark.parametrize("environment", [None, *ENVIRONMENTS])
def test_service_bindings_and_queues_stay_inside_their_environment(environment: str | None) -> None:
    """Every service binding reaches a worker of the same environment; every queue a worker
    sends to, and every dead-letter queue, is consumed in the same environment."""
    sections = [section(path, environment) for path in CONFIGS]
    workers = {table.get("name", config(path)["name"]) for path, table in zip(CONFIGS, sections, strict=True)}
    targets = {binding["service"] for table in sections for binding in table.get("services", [])}
    assert targets and targets <= workers, f"service bindings leave the environment: {sorted(targets - workers)}"
    queues = [table.get("queues", {}) for table in sections]
    consumed = {consumer["queue"] for q in queues for consumer in q.get("consumers", [])}
    sent = {producer["queue"] for q in queues for producer in q.get("producers", [])}
    dead = {
        consumer["dead_letter_queue"]
        for q in queues
        for consumer in q.get("consumers", [])
        if "dead_letter_queue" in consumer
    }
    assert sent and sent <= consumed, f"queues sent to but consumed by no worker here: {sorted(sent - consumed)}"
    assert dead and dead <= consumed, f"dead-letter queues no worker here consumes: {sorted(dead - consumed)}"


def test_the_check_finds_a_binding_forgotten_in_an_environment() -> None:
    """What the first test relies on: a var or binding missing from an environment shows."""
    top = declared(section("services/orders/wrangler.toml", None), None)
    staging = section("services/orders/wrangler.toml", "staging")
    without_var = {**staging, "vars": {k: v for k, v in staging["vars"].items() if k != "NOTIFY_WEBHOOK_URL"}}
    without_consumer = {**staging, "queues": {**staging["queues"], "consumers": staging["queues"]["consumers"][:-1]}}
    assert top - declared(without_var, "staging") == {"vars.NOTIFY_WEBHOOK_URL"}
    assert top - declared(without_consumer, "staging") == {"queues.consumers.edge-dead-letters"}
    assert top - declared({k: v for k, v in staging.items() if k != "d1_databases"}, "staging") == {"d1_databases.DB"}
