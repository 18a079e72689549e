"""Typed reads of a worker's vars and secrets.

Cloudflare hands every var and secret to the worker as a string on `env`; these
helpers turn them into the types the code wants, with defaults for unset ones.
"""

from typing import Any


def env_str(env: Any, name: str, default: str = "") -> str:
    value = getattr(env, name, None)
    return default if value is None else str(value)


def env_int(env: Any, name: str, default: int) -> int:
    raw = env_str(env, name).strip()
    return int(raw) if raw else default


def env_list(env: Any, name: str) -> list[str]:
    """A comma-separated var as a list, blanks dropped."""
    return [item.strip() for item in env_str(env, name).split(",") if item.strip()]
