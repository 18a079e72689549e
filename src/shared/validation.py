"""Request bodies into pydantic models, with the contract's 400/415/422 answers."""

import json
import re
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


# No contract nests deeper than a few levels. A hostile body of 20,000 "[" overflows the
# WebAssembly stack inside the json module and kills the whole interpreter (a Pyodide
# fatal error: every request of the isolate fails), so depth is checked before parsing.
MAX_JSON_DEPTH = 32
_BRACKETS = re.compile(rb"[\[\]{}]")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _too_deep(body: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_JSON_DEPTH; C-speed for normal bodies."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', body)):
        depth += 1 if bracket in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice is refused: two parsers could each believe a different value."""
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("duplicate key")
    return data


def loads_strict(raw: bytes) -> Any:
    """RFC 8259 JSON only: no NaN, Infinity or overflowing numbers, no duplicate keys, no hostile nesting."""
    if _too_deep(raw):
        raise ValueError("nested too deeply")
    return json.loads(raw, parse_constant=_no_constants, parse_float=_finite, object_pairs_hook=_unique_keys)


def parse_body(request: HttpRequest, model: type[Model]) -> Model:
    if not is_json_content_type(request.header("content-type")):
        raise HttpProblem(415, "Send the body as application/json")
    try:
        data = loads_strict(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
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


def parse_header(request: HttpRequest, name: str, max_chars: int) -> str | None:
    """None when the header is absent; 422 when present but empty or over `max_chars`."""
    if name not in request.headers:
        return None
    value = request.headers[name]
    if not 1 <= len(value) <= max_chars:
        detail = f"The {name} header must be 1-{max_chars} characters"
        raise HttpProblem(422, detail, errors=[{"loc": ["header", name], "msg": f"must be 1-{max_chars} characters"}])
    return value
