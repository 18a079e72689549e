"""The local runtime's side of a Python worker's interpreter.

It calls the worker's `Default` entrypoint the way workerd's Python entrypoint
helper does: a fresh instance per event built from (ctx, env); `fetch` receives the
request through `python_from_rpc` (a `workers.Request`) and its result goes back
through `python_to_rpc`; `queue` and `scheduled` receive the raw JS objects and are
called "relaxed" (extra arguments dropped), so handler signatures that work here
work on Cloudflare. A workflow's class (a `WorkflowEntrypoint` named by the config's
`class_name`) is built from (ctx, env) too, and its `run` gets the raw JS event and step,
which the SDK converts and wraps itself.
"""

import functools
import importlib.util
import inspect
import py_compile
import sys
import traceback
from typing import Any

from workers import python_from_rpc, python_to_rpc

_main: Any = None


def load(module_name: str) -> str:
    """Import the worker's main module; '' on success, else the formatted traceback."""
    global _main
    try:
        _main = __import__(module_name)
        _main.Default  # noqa: B018 - the entrypoint class must exist
    except BaseException:  # noqa: BLE001 - any import failure (SystemExit too) is reported, not raised
        return traceback.format_exc()
    return ""


def compile_imported(roots: list[str]) -> list[str]:
    """Compile each imported module under `roots` whose bytecode is missing or stale, as a
    checked-hash pyc (valid while its source hash matches); the pycs it wrote."""
    written = []
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None) or ""
        if source.endswith(".py") and source.startswith(tuple(roots)):
            cached = importlib.util.cache_from_source(source)
            if not _fresh(source, cached):
                mode = py_compile.PycInvalidationMode.CHECKED_HASH
                py_compile.compile(source, cfile=cached, invalidation_mode=mode, doraise=True)
                written.append(cached)
    return written


def _fresh(source: str, cached: str) -> bool:
    try:
        with open(cached, "rb") as pyc, open(source, "rb") as py:
            return pyc.read(16)[8:] == importlib.util.source_hash(py.read())
    except OSError:
        return False


def runtime_info() -> dict[str, str]:
    return {"python": sys.version.split()[0], "platform": sys.platform}


@functools.cache
def _arity(function: Any) -> int | None:
    """How many positional arguments `function` takes (None: any); read once per handler,
    since `inspect.signature` cost about 0.3 ms per event in Pyodide."""
    params = inspect.signature(function).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    return len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])


def _relaxed(method: Any, *args: Any) -> Any:
    """Pass only as many positional arguments as the handler declares."""
    function = getattr(method, "__func__", method)
    arity = _arity(function)
    if arity is None:
        return method(*args)
    return method(*args[: arity - (function is not method)])


async def _call(method: Any, *args: Any) -> Any:
    result = _relaxed(method, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def fetch(ctx: Any, env: Any, request: Any) -> Any:
    worker = _main.Default(ctx, env)
    return python_to_rpc(await _call(worker.fetch, python_from_rpc(request)))


async def queue(ctx: Any, env: Any, batch: Any) -> None:
    worker = _main.Default(ctx, env)
    await _call(worker.queue, batch, worker.env, ctx)


async def scheduled(ctx: Any, env: Any, controller: Any) -> None:
    worker = _main.Default(ctx, env)
    await _call(worker.scheduled, controller, worker.env, ctx)


async def workflow(ctx: Any, env: Any, class_name: str, event: Any, step: Any) -> Any:
    return await getattr(_main, class_name)(ctx, env).run(event, step)
