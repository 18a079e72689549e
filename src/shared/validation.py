"""Request bodies into pydantic models, with the contract's 400/415/422 answers."""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import HttpProblem
from shared.http import HttpRequest

Model = TypeVar("Model", bound=BaseModel)


def is_json_content_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def field_errors(error: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as the contract's `[{"loc": [...], "msg": "..."}]`, with no input echoed."""
    return [{"loc": ["body", *error_item["loc"]], "msg": error_item["msg"]} for error_item in error.errors()]


def parse_body(request: HttpRequest, model: type[Model]) -> Model:
    if not is_json_content_type(request.header("content-type")):
        raise HttpProblem(415, "Send the body as application/json")
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise HttpProblem(400, "The body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise HttpProblem(422, "The body failed validation", errors=field_errors(error)) from None


def parse_query(request: HttpRequest, model: type[Model]) -> Model:
    try:
        return model.model_validate(request.query)
    except ValidationError as error:
        errors = [{"loc": ["query", *item["loc"]], "msg": item["msg"]} for item in error.errors()]
        raise HttpProblem(422, "The query failed validation", errors=errors) from None
