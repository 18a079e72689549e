"""GET /openapi.json: OpenAPI 3.1 generated from the route table and the pydantic
models that validate requests, so the document is the code's own description.

Outside linters hold it to their rules (Redocly's recommended set and Spectral's
`spectral:oas`, zero errors and zero warnings: tests/e2e/test_openapi_linters.py) and a
client generated from it drives the main flow (tests/e2e/test_generated_client.py).
"""

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic.json_schema import models_json_schema

from contracts.orders import IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, MAX_IDEMPOTENCY_KEY_CHARS
from gateway.auth import PUBLIC
from gateway.routes import JSON, ROUTES, TAGS, Route
from shared.http import HttpRequest, HttpResponse, json_response

REF_TEMPLATE = "#/components/schemas/{model}"
BEARER = "bearer"

INFO = {
    "title": "Edge API",
    "version": "1.0.0",
    "summary": "Users and orders behind one gateway, on Cloudflare Python Workers.",
    "description": (
        "A gateway worker verifies bearer tokens (HS256 JWTs from `POST /api/auth/login`), applies "
        "security headers, CORS and a per-client rate limit, and routes over service bindings to a "
        "users worker and an orders worker (D1, KV, Queues, cron triggers).\n\n"
        "Every error is RFC 9457 `application/problem+json` carrying the `request_id` that is also in "
        "the `X-Request-ID` header; validation failures (422) list each field in `errors`. Every "
        "operation may answer 429 with `Retry-After` once a client address exceeds its rate limit. "
        "Money is integer cents, times are RFC 3339 UTC, ids are opaque strings."
    ),
    # Whoever deploys a copy of this reference puts their own contact here.
    "contact": {"name": "Edge API maintainers", "email": "api@example.com"},
    "license": {"name": "MIT", "identifier": "MIT"},
}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; never a stack trace, SQL or secret.",
    "required": ["type", "title", "status", "detail", "instance", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "array", "items": {}}, "msg": {"type": "string"}},
            },
        },
    },
    "examples": [
        {
            "type": "about:blank",
            "title": "Unprocessable Content",
            "status": 422,
            "detail": "The body failed validation",
            "instance": "/api/orders",
            "request_id": "4f1c9a2e8b7d4c3a9e0f1a2b3c4d5e6f",
            "errors": [{"loc": ["body", "items", 0, "quantity"], "msg": "Input should be greater than or equal to 1"}],
        }
    ],
}

# Response headers, defined once (components/headers) and referenced where they appear.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": (
            "The request's id: the client's own when it sent a sane one (1-128 of `[A-Za-z0-9._-]`), "
            "else a fresh one. Every log line and queue message about the request carries it."
        ),
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
    },
    "WWW-Authenticate": {"description": "`Bearer`: how to authenticate", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}},
    IDEMPOTENT_REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Cache": {
        "description": "`HIT` when the account came from the KV cache, `MISS` when it was read from D1",
        "schema": {"type": "string", "enum": ["HIT", "MISS"]},
    },
}
# The headers of problem answers beyond X-Request-ID, by status.
_PROBLEM_HEADERS: dict[int, tuple[str, ...]] = {
    401: ("WWW-Authenticate",),
    429: ("Retry-After",),
    503: ("Retry-After",),
}


def _headers(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-ID", *names)}


_STANDARD_ERRORS = {
    400: "Malformed JSON",
    401: "Missing, invalid or expired token",
    403: "Authenticated but not allowed",
    404: "Unknown route, or not yours to see",
    405: "Known path, wrong method",
    413: "Body over the limit",
    415: "Body is not JSON",
    422: "Validation failed",
    429: "Rate limited",
    502: "A service failed",
    503: "A service is unavailable",
    504: "A service timed out",
}


def _schemas() -> dict[str, Any]:
    models = {model for route in ROUTES for model in (route.body, route.response) if model is not None}
    _, top = models_json_schema(
        [(m, "validation" if _is_input(m) else "serialization") for m in models], ref_template=REF_TEMPLATE
    )
    schemas = dict(top.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    return schemas


def _is_input(model: type) -> bool:
    return any(route.body is model for route in ROUTES)


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop})
    if route.idempotent:
        params.append(
            {
                "name": IDEMPOTENCY_KEY_HEADER,
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS},
            }
        )
    return params


def _ref(model: type | None) -> dict[str, Any]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)} if model is not None else {"type": "object"}


def _operation(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Success", "headers": _headers(route.headers)}
    if route.status != 204:
        schema = _ref(route.response) if route.media_type == JSON else {"type": "string"}
        success["content"] = {route.media_type: {"schema": schema}}
    responses: dict[str, Any] = {str(route.status): success}
    codes = set(route.errors) | {429}
    if route.access != PUBLIC:
        codes |= {401, 403}
    if route.body is not None:
        codes |= {400, 413, 415, 422}
    if route.query is not None or route.idempotent:
        codes.add(422)
    if route.service is not None:
        codes |= {502, 503, 504}
    for code in sorted(codes):
        description = _STANDARD_ERRORS.get(code, "See detail")
        answer: dict[str, Any] = {"description": description, "headers": _headers(_PROBLEM_HEADERS.get(code, ()))}
        if code in route.success_shaped:
            answer["description"] = f"{description}: the same document, saying which"
            answer["content"] = success["content"]
        else:
            answer["content"] = {"application/problem+json": {"schema": _ref_name("Problem")}}
        responses[str(code)] = answer
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": route.description,
        "tags": [route.tag],
        # Public routes say so (an empty list); the rest need the bearer token.
        "security": [] if route.access == PUBLIC else [{BEARER: []}],
        "parameters": _parameters(route),
        "responses": responses,
    }
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(route.body)}}}
    return operation


def head_operation_id(operation_id: str) -> str:
    """The id of the HEAD beside a GET: its verb replaced (getOrder -> headOrder, listOrders -> headOrders)."""
    return re.sub(r"^[a-z]+", "head", operation_id)


def _head_of(get: dict[str, Any]) -> dict[str, Any]:
    """GET's operation without bodies: what HEAD answers."""
    responses = {code: {k: v for k, v in answer.items() if k != "content"} for code, answer in get["responses"].items()}
    return {
        **get,
        "operationId": head_operation_id(get["operationId"]),
        "summary": f"Headers only: {get['summary']}",
        "description": f"The headers `GET` answers, without its body (RFC 9110). {get['description']}",
        "responses": responses,
    }


def _ref_name(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def build_document() -> dict[str, Any]:
    """Everything but `servers`, which names the origin each request came to."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation = _operation(route)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
        if route.method == "GET":  # served wherever GET is (RFC 9110), so documented too
            paths[route.path]["head"] = _head_of(operation)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "tags": [{"name": name, "description": description} for name, description in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "headers": HEADERS,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The `access_token` of `POST /api/auth/login`.",
                }
            },
        },
    }


_document: dict[str, Any] | None = None


async def openapi(request: HttpRequest, ctx: object) -> HttpResponse:
    """Built on first use and kept for the isolate's life: the routes cannot change at run time.

    `servers` is the origin the client reached (a deployment's own domain, or the local
    port), so a generated client or the interactive reference calls the gateway it came from."""
    global _document
    if _document is None:
        _document = build_document()
    origin = urlsplit(request.url)
    server = {"url": f"{origin.scheme}://{origin.netloc}", "description": "The gateway that served this document"}
    return json_response({**_document, "servers": [server]})
