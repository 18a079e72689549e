"""Plain-Python HTTP for handlers: requests, responses, problems and routing.

Handlers and routers see these types only; `shared.platform` converts them to and
from the runtime's Request/Response, so everything here runs the same in CPython tests.
"""

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shared.errors import Conflict, DomainError, Forbidden, HttpProblem, NotFound, Unauthenticated, Unprocessable

JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

# The methods of RFC 9110 section 9 plus PATCH (RFC 5789). A path answers any other with
# 501 (the server does not implement it) rather than 405 (this path does not allow it).
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    Unprocessable: 422,
}


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""
    request_id: str = ""
    user_id: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query))

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def request_id_from(headers: dict[str, str]) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh one."""
    offered = headers.get(REQUEST_ID_HEADER.lower(), "")
    return offered if _SANE_REQUEST_ID.fullmatch(offered) else secrets.token_hex(16)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps(data, separators=(",", ":")).encode()
    return HttpResponse(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, b"", dict(headers or {}))


def problem(
    status: int,
    detail: str,
    request: HttpRequest,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """An RFC 9457 problem document; never carries a trace, SQL or secret."""
    doc: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": request.request_id,
    }
    if errors is not None:
        doc["errors"] = errors
    body = json.dumps(doc, separators=(",", ":")).encode()
    return HttpResponse(status, body, {"Content-Type": PROBLEM_TYPE, **(headers or {})})


def problem_for(error: Exception, request: HttpRequest) -> HttpResponse | None:
    """The problem response for a known refusal; None for a bug (a 500 to log)."""
    if isinstance(error, HttpProblem):
        return problem(error.status, error.detail, request, title=error.title, errors=error.errors, headers=error.headers)
    for kind, status in _DOMAIN_STATUS.items():
        if isinstance(error, kind):
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return problem(status, error.detail, request, headers=extra)
    return None


Handler = Callable[..., Awaitable[HttpResponse]]


class Router:
    """Method + path-template routing.

    Templates use `{name}` for one path segment; handlers get the captured segments
    as keyword arguments after the request. Unmatched paths are answered by
    `shared.app.WorkerApp` (404, or 405 with `Allow`).
    """

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], str, str, Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
        self._routes.append((pattern, method, template, handler))

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str], str] | tuple[None, list[str], None]:
        """The handler, its path params and template; or None and the methods the path allows."""
        allowed: list[str] = []
        for pattern, route_method, template, handler in self._routes:
            found = pattern.match(path)
            if not found:
                continue
            if route_method == method:
                return handler, found.groupdict(), template
            allowed.append(route_method)
        return None, allowed, None
