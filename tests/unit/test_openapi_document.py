"""The OpenAPI document's metadata, checked in CPython in a second: every operation has a
unique camelCase operationId, a description, a globally defined tag and an explicit
`security`, every example validates against the model it documents, and only the pages'
paths end in a slash.

The outside linters (Redocly, Spectral) run on the live document in
tests/e2e/test_openapi_linters.py; this test fails first, and says which route to fix.
"""

import re
from collections import Counter
from typing import Any

import pytest
from pydantic import BaseModel

from gateway.auth import PUBLIC
from gateway.openapi import BEARER, build_document, head_operation_id
from gateway.pages import PAGE_CSPS
from gateway.routes import HTML, ROUTES, TAGS, Route

OPERATION_ID = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)*")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_declares_its_documentation(route: Route) -> None:
    assert OPERATION_ID.fullmatch(route.operation_id), f"{route.operation_id!r} is not camelCase, verb first"
    assert route.summary.strip() and route.description.strip()
    assert route.description != route.summary, "the description should say more than the summary"
    assert route.tag in TAGS, f"tag {route.tag!r} is not one of TAGS in gateway/routes.py: {sorted(TAGS)}"


def test_a_route_without_its_documentation_cannot_be_declared() -> None:
    with pytest.raises(TypeError, match="operation_id"):
        Route("GET", "/api/new", "A new route", description="...", tag="system")  # type: ignore[call-arg]


def test_operation_ids_are_unique_heads_included() -> None:
    ids = [route.operation_id for route in ROUTES]
    ids += [head_operation_id(route.operation_id) for route in ROUTES if route.method == "GET"]
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    assert head_operation_id("getOrder") == "headOrder" and head_operation_id("listOrders") == "headOrders"


def test_only_the_pages_end_in_a_slash() -> None:
    """The linters' trailing-slash rules are off (redocly.yaml, .spectral.yaml) for the one path
    the contract gives with one, the dashboard's `/admin/`; this keeps the rule for the rest."""
    slashed = {route.path for route in ROUTES if route.path.endswith("/")}
    assert slashed == {path for path in PAGE_CSPS if path.endswith("/")} == {"/admin/"}
    assert all(route.media_type == HTML for route in ROUTES if route.path in slashed)


def test_every_tag_is_used_and_described() -> None:
    assert {route.tag for route in ROUTES} == set(TAGS)
    assert all(description.strip() for description in TAGS.values())


def test_every_operation_is_documented_with_explicit_security() -> None:
    document = build_document()
    tags = {tag["name"] for tag in document["tags"]}
    access = {(route.method.lower(), route.path): route.access for route in ROUTES}
    listed = operations(document)
    assert len(listed) == len(ROUTES) + sum(route.method == "GET" for route in ROUTES)
    for method, path, operation in listed:
        where = f"{method.upper()} {path}"
        assert operation["operationId"] and operation["description"], where
        assert operation["tags"] and set(operation["tags"]) <= tags, where
        public = access[("get" if method == "head" else method, path)] == PUBLIC
        assert operation["security"] == ([] if public else [{BEARER: []}]), where
        assert any(code.startswith("4") for code in operation["responses"]), where
    assert BEARER in document["components"]["securitySchemes"]
    assert document["info"]["license"] == {"name": "MIT", "identifier": "MIT"}
    assert document["info"]["contact"]


def models() -> list[type[BaseModel]]:
    found = {model for route in ROUTES for model in (route.body, route.response) if model is not None}
    return sorted(found, key=lambda model: model.__name__)


@pytest.mark.parametrize("model", models(), ids=lambda model: model.__name__)
def test_examples_are_valid_for_their_own_model(model: type[BaseModel]) -> None:
    """The examples a reader copies are checked by the model that validates the real thing."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples", []) if isinstance(extra, dict) else []
    for example in examples:
        assert model.model_validate(example).model_dump(mode="json", exclude_unset=True) == example


def test_request_bodies_carry_examples() -> None:
    schemas = build_document()["components"]["schemas"]
    for route in ROUTES:
        if route.body is not None:
            assert schemas[route.body.__name__].get("examples"), f"{route.body.__name__} has no example"


def test_documented_response_headers_are_defined_once() -> None:
    document = build_document()
    defined = document["components"]["headers"]
    for route in ROUTES:
        assert set(route.headers) <= defined.keys(), f"{route.method} {route.path}: define {route.headers} in HEADERS"
    for method, path, operation in operations(document):
        for code, answer in operation["responses"].items():
            assert "X-Request-ID" in answer["headers"], f"{method.upper()} {path} {code}"


def test_health_documents_its_degraded_answer_as_the_health_document() -> None:
    """GET /health answers 503 with its own document (status degraded), not a problem."""
    responses = build_document()["paths"]["/health"]["get"]["responses"]
    assert responses["503"]["content"] == responses["200"]["content"]
    assert set(responses["503"]["headers"]) == {"X-Request-ID", "Retry-After"}
