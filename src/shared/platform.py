"""The one place that turns the runtime's Request/Response into `shared.http` types and back.

Entry modules call `serve`; nothing else touches the runtime's Request or Response. The
answer is a JS Response (`jsvalues.js_response`), as Python Workers accept.
"""

from collections.abc import Callable
from typing import Any

from shared.adapters.jsvalues import header_pairs, js_response
from shared.app import WorkerApp, misconfigured
from shared.config import ConfigError
from shared.http import Headers, HttpRequest, HttpResponse, request_id_from

_BODYLESS = ("GET", "HEAD", "OPTIONS")


async def read_request(request: Any) -> HttpRequest:
    """A `workers.Request` as plain data, its headers compared without case. Read from the
    JS request underneath, once each: the SDK's properties add a Python layer per read."""
    js_request = request.js_object
    headers = Headers(header_pairs(js_request))
    # The method exactly as the client sent it: `workers.Request.method` looks it up in
    # `http.HTTPMethod` and raises KeyError for any other (PROPFIND, PURGE, a made-up token),
    # on Cloudflare too, where the app answers 501 instead.
    method = str(js_request.method)
    body = b"" if method in _BODYLESS else (await js_request.arrayBuffer()).to_bytes()
    return HttpRequest(method, str(js_request.url), headers, body, request_id_from(headers))


def write_response(response: HttpResponse) -> Any:
    return js_response(response.status, response.body, response.headers.pairs(), response.stream)


Build = Callable[[Any], WorkerApp[Any]]
_apps: dict[Build, tuple[Any, WorkerApp[Any]]] = {}


def app_for(build: Build, env: Any) -> WorkerApp[Any]:
    """The app `build` assembles from `env` (the composition root), once per isolate.

    The runtime hands every request the same env, and assembling the app from it
    (reading each var through the SDK's env wrapper, making the adapters) cost about
    1 ms of CPU per request in Pyodide. Another env gets its own app; an app holds no
    request's state.
    """
    inner = _unwrapped(env)
    cached = _apps.get(build)
    if cached is not None and _same(cached[0], inner):
        return cached[1]
    app = build(env)
    _apps[build] = (inner, app)
    return app


def _unwrapped(env: Any) -> Any:
    """The object under the SDK's per-request env wrapper (`_EnvWrapper._env`)."""
    return getattr(env, "_env", env)


def _same(kept: Any, given: Any) -> bool:
    """Whether two envs are one object: each request's JsProxy is new, and `==` on two
    JsProxies compares the JS objects (`===`)."""
    return kept is given or (hasattr(given, "js_id") and kept == given)


async def serve(request: Any, worker: str, build: Build, env: Any) -> Any:
    """Answer one request with the app `build` assembles from env."""
    http_request = await read_request(request)
    try:
        app = app_for(build, env)
    except ConfigError as error:
        return write_response(misconfigured(worker, http_request, error))
    return write_response(await app.handle(http_request))
