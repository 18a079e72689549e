"""GET /openapi.json: OpenAPI 3.1 generated from the route table and the pydantic
models that validate requests, so the document is the code's own description."""

import re
from typing import Any

from pydantic.json_schema import models_json_schema

from contracts.orders import IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_CHARS
from gateway.auth import PUBLIC
from gateway.routes import ROUTES, Route
from shared.http import HttpRequest, HttpResponse, json_response

REF_TEMPLATE = "#/components/schemas/{model}"

PROBLEM_SCHEMA = {
    "type": "object",
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
}

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
    success: dict[str, Any] = {"description": "Success"}
    if route.status != 204:
        success["content"] = {"application/json": {"schema": _ref(route.response)}}
    responses: dict[str, Any] = {str(route.status): success}
    codes = set(route.errors) | {429}
    if route.access != PUBLIC:
        codes |= {401, 403}
    if route.body is not None:
        codes |= {400, 413, 415, 422}
    if route.query is not None:
        codes.add(422)
    if route.service is not None:
        codes |= {502, 503, 504}
    for code in sorted(codes):
        description = _STANDARD_ERRORS.get(code, "See detail")
        responses[str(code)] = {
            "description": description,
            "content": {"application/problem+json": {"schema": _ref_name("Problem")}},
        }
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route),
        "responses": responses,
    }
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(route.body)}}}
    if route.access != PUBLIC:
        operation["security"] = [{"bearer": []}]
    return operation


def _head_of(get: dict[str, Any]) -> dict[str, Any]:
    """GET's operation without bodies: what HEAD answers."""
    responses = {code: {"description": answer["description"]} for code, answer in get["responses"].items()}
    return {**get, "summary": f"Headers only: {get['summary']}", "responses": responses}


def _ref_name(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation = _operation(route)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
        if route.method == "GET":  # served wherever GET is (RFC 9110), so documented too
            paths[route.path]["head"] = _head_of(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Edge API",
            "version": "1.0.0",
            "description": "Gateway to the users and orders services on Cloudflare Python Workers.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


_document: dict[str, Any] | None = None


async def openapi(request: HttpRequest, ctx: object) -> HttpResponse:
    """Built on first use and kept for the isolate's life: the routes cannot change at run time."""
    global _document
    if _document is None:
        _document = build_document()
    return json_response(_document)
