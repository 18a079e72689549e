"""The one place that turns the runtime's Request/Response into `shared.http` types and back.

Entry modules call `serve`; nothing else imports the `workers` SDK's HTTP classes.
"""

from collections.abc import Callable
from typing import Any

from workers import Response

from shared.app import WorkerApp, misconfigured
from shared.config import ConfigError
from shared.http import Headers, HttpRequest, HttpResponse, request_id_from

_BODYLESS = ("GET", "HEAD", "OPTIONS")


async def read_request(request: Any) -> HttpRequest:
    """A `workers.Request` as plain data, its headers compared without case."""
    headers = Headers(request.headers.items())
    method = method_of(request)
    body = b"" if method in _BODYLESS else await request.bytes()
    return HttpRequest(method, request.url, headers, body, request_id_from(headers))


def method_of(request: Any) -> str:
    """The method exactly as the client sent it.

    `workers.Request.method` looks the method up in `http.HTTPMethod` and raises KeyError
    for any other (PROPFIND, PURGE, a made-up token), on Cloudflare too; the JS request
    underneath carries it as sent, so the app can answer 501 instead of crashing.
    """
    js_request = getattr(request, "js_object", None)
    return str(js_request.method if js_request is not None else request.method)


def write_response(response: HttpResponse) -> Response:
    return Response(response.body or None, status=response.status, headers=dict(response.headers))


async def serve(request: Any, worker: str, build: Callable[[], WorkerApp[Any]]) -> Response:
    """Answer one request with the app `build` assembles from env (the composition root)."""
    http_request = await read_request(request)
    try:
        app = build()
    except ConfigError as error:
        return write_response(misconfigured(worker, http_request, error))
    return write_response(await app.handle(http_request))
