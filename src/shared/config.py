"""Typed reads of a worker's vars and secrets.

Cloudflare hands every var and secret to the worker as a string on `env`; these
helpers turn them into the types the code wants, with defaults for unset ones.
"""

from collections.abc import Callable
from typing import Any, TypeVar

N = TypeVar("N", int, float)


class ConfigError(Exception):
    """A setting the worker cannot run without is missing or unusable: the operator's to fix."""


def env_str(env: Any, name: str, default: str = "") -> str:
    value = getattr(env, name, None)
    return default if value is None else str(value)


def _env_number(env: Any, name: str, default: N, parse: Callable[[str], N], kind: str) -> N:
    """`default` when unset; ConfigError naming the variable when it does not parse as `kind`."""
    raw = env_str(env, name).strip()
    try:
        return parse(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be {kind}, not {raw!r}") from None


def env_int(env: Any, name: str, default: int) -> int:
    return _env_number(env, name, default, int, "a whole number")


def env_float(env: Any, name: str, default: float) -> float:
    return _env_number(env, name, default, float, "a number")


def env_list(env: Any, name: str) -> list[str]:
    """A comma-separated var as a list, blanks dropped."""
    return [item.strip() for item in env_str(env, name).split(",") if item.strip()]


def env_secret(env: Any, name: str, min_length: int) -> str:
    """A secret set with `wrangler secret put` (locally: .dev.vars); ConfigError when short or unset."""
    value = env_str(env, name)
    if len(value) < min_length:
        raise ConfigError(f"{name} must be set to at least {min_length} characters (wrangler secret put {name})")
    return value
