"""Plain-Python HTTP for handlers: requests, responses, problems and routing.

Handlers and routers see these types only; `shared.platform` converts them to and
from the runtime's Request/Response, so everything here runs the same in CPython tests.
"""

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic, TypeVar, overload
from urllib.parse import parse_qsl, urlsplit

from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    HttpProblem,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unprocessable,
)
from shared.identity import Identity
from shared.logging import Logger
from shared.tracing import new_trace_id

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

# The methods of RFC 9110 section 9, PATCH (RFC 5789) and QUERY (the IETF's safe method
# with a body, which workerd passes on). A path answers any other with 501 (the server
# does not implement it) rather than 405 (this path does not allow it).
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"})

_T = TypeVar("_T")

# json.dumps with options builds a new encoder per call; every answer shares this one.
encode_json = json.JSONEncoder(separators=(",", ":")).encode
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


_DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    Unprocessable: 422,
    TooManyAttempts: 429,
}


class Headers(MutableMapping[str, str]):
    """HTTP headers: names compared without case (RFC 9110), written as first set.

    One class for requests and responses, so `Content-Type` set by a handler and
    `content-type` read by a test are the same header, never two.
    """

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self[name] = value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    @overload
    def get(self, name: str, /) -> str | None: ...

    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...

    def get(self, name: str, /, default: object = None) -> object:
        """Without the KeyError Mapping.get raises and catches for a missing header."""
        item = self._items.get(name.lower())
        return default if item is None else item[1]

    def __setitem__(self, name: str, value: str) -> None:
        key = name.lower()
        kept = self._items.get(key)
        self._items[key] = (name if kept is None else kept[0], value)

    def setdefault(self, name: str, default: str) -> str:
        """Without the KeyError MutableMapping.setdefault raises and catches for a missing header
        (every response gets its security headers this way, in Pyodide)."""
        key = name.lower()
        kept = self._items.get(key)
        if kept is None:
            self._items[key] = (name, default)
            return default
        return kept[1]

    def pairs(self) -> list[tuple[str, str]]:
        """(name as first set, value) for every header, in one list."""
        return list(self._items.values())

    def __delitem__(self, name: str) -> None:
        del self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass
class HttpRequest:
    """A request as handlers see it. Routing fills `path_params` and `route`; the app binds `log`."""

    method: str
    url: str
    headers: Headers
    body: bytes = b""
    request_id: str = ""
    user_id: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    route: str | None = None  # the matched route template, None when nothing matched
    identity: Identity | None = None  # who the gateway authenticated, when it did
    log: Logger = field(default_factory=Logger)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):  # a plain mapping (tests, adapters) becomes Headers
            self.headers = Headers(self.headers)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)


@dataclass
class HttpResponse:
    """`stream`: a body the runtime still holds (a service's answer, forwarded as it came),
    sent on in place of `body` without being read into Python: in Pyodide, reading it is one
    more awaited promise and two copies across the JS boundary on every forwarded request."""

    status: int = 200
    body: bytes = b""
    headers: Headers = field(default_factory=Headers)
    stream: object = None

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):  # a plain mapping (tests, adapters) becomes Headers
            self.headers = Headers(self.headers)

    def json(self) -> Any:
        return json.loads(self.body)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def request_id_from(headers: Mapping[str, str]) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh one."""
    offered = (headers if isinstance(headers, Headers) else Headers(headers)).get(REQUEST_ID_HEADER, "")
    # A new one is made as a trace id is (32 hex characters): it must be unique, not secret
    # (it is echoed to the client), and `secrets` reads the OS's entropy, a call into JS in Pyodide.
    return offered if _SANE_REQUEST_ID.fullmatch(offered) else new_trace_id()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    body = encode_json(data).encode()
    return HttpResponse(status, body, Headers({"Content-Type": JSON_TYPE, **(headers or {})}))


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, b"", Headers(headers or {}))


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
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": request.request_id,
    }
    if errors is not None:
        doc["errors"] = errors
    body = encode_json(doc).encode()
    return HttpResponse(status, body, Headers({"Content-Type": PROBLEM_TYPE, **(headers or {})}))


def problem_for(error: Exception, request: HttpRequest) -> HttpResponse | None:
    """The problem response for a known refusal; None for a bug (a 500 to log)."""
    if isinstance(error, HttpProblem):
        return problem(
            error.status, error.detail, request, title=error.title, errors=error.errors, headers=error.headers
        )
    for kind, status in _DOMAIN_STATUS.items():
        if isinstance(error, kind):
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if isinstance(error, TooManyAttempts):
                extra = {"Retry-After": str(error.retry_after_seconds)}
            return problem(status, error.detail, request, headers=extra)
    return None


Context = TypeVar("Context")
# A handler gets the request (path params in `request.path_params`) and its worker's context.
Handler = Callable[[HttpRequest, Context], Awaitable[HttpResponse]]


@dataclass(frozen=True)
class Match(Generic[Context]):
    """What routing found: the handler and template, or the methods the path allows."""

    handler: Handler[Context] | None
    params: dict[str, str]
    template: str | None
    allowed: tuple[str, ...]


class Router(Generic[Context]):
    """Method + path-template routing.

    Templates use `{name}` for one path segment, captured into `request.path_params`.
    The first matching template wins. Unmatched paths are answered by
    `shared.app.WorkerApp` (404, or 405 with `Allow`).
    """

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], str, str, Handler[Context]]] = []
        self._handlers: dict[tuple[str, str], Handler[Context]] = {}

    def add(self, method: str, template: str, handler: Handler[Context]) -> None:
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
        self._routes.append((pattern, method, template, handler))
        self._handlers.setdefault((method, template), handler)

    def handler(self, method: str, template: str | None) -> Handler[Context] | None:
        """The handler of a route `match` found (None when it found none), without routing again."""
        return None if template is None else self._handlers.get((method, template))

    def match(self, method: str, path: str) -> Match[Context]:
        """The first template that matches the path owns it: `/api/users/me` is not a `{user_id}`."""
        owner: str | None = None
        allowed: list[str] = []
        for pattern, route_method, template, handler in self._routes:
            found = pattern.match(path)
            if not found or (owner is not None and template != owner):
                continue
            owner = template
            if route_method == method:
                return Match(handler, found.groupdict(), template, ())
            allowed.append(route_method)
        return Match(None, {}, None, tuple(allowed))
