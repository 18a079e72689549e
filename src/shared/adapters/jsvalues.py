"""The JS edge of the adapters: the JS binding under the SDK's wrapper, and plain values
both ways.

Why not the SDK's binding wrappers: every call through one converts each argument
(`python_to_rpc`) and each result (`python_from_rpc`, then a walk replacing JS nulls),
even `prepare`/`bind`, which cost about half of a D1 query's Python time in Pyodide.
The adapters pass only strings, numbers and small dicts and read back JSON-shaped data,
so they convert that little themselves. In CPython (the unit tests' fakes) every
function here leaves its value as it is.
"""

import json
import sys
from typing import Any

from shared.http import encode_json

js: Any = None  # CPython: no JS values exist
jsnull: Any = None
to_js: Any = None
# JS functions looked up once: reading an attribute of a JS object crosses into JS each time.
_parse_json: Any = None
_stringify_json: Any = None
_from_entries: Any = None
_array_from: Any = None
_new_response: Any = None
if sys.platform == "emscripten":
    import js
    from pyodide.ffi import jsnull, to_js

    _parse_json, _stringify_json, _from_entries, _array_from, _new_response = (
        js.JSON.parse,
        js.JSON.stringify,
        js.Object.fromEntries,
        js.Array.from_,
        js.Response.new,
    )


def js_binding(binding: Any) -> Any:
    """The JS object under the SDK's binding wrapper (its `_binding`); a fake is itself."""
    return getattr(binding, "_binding", binding)


def to_js_value(value: Any) -> Any:
    """An argument for a JS call: None as JS null (Pyodide passes None as undefined, which
    D1 refuses), dicts and lists as JS objects and arrays (deeply)."""
    if to_js is None:
        return value
    if value is None:
        return jsnull
    return to_js(value, dict_converter=_from_entries) if isinstance(value, (dict, list)) else value


def json_to_js(value: Any) -> Any:
    """JSON-shaped data as a JS value in one `JSON.parse` (cheaper than converting it piece by
    piece); itself in CPython."""
    return value if js is None else _parse_json(encode_json(value))


def to_python(value: Any) -> Any:
    """Plain Python from what a JS call answered: JSON-shaped data through one JSON round
    trip (JS null inside becomes None; `to_py` would leave `jsnull`), JS null as None, a
    Python value (or a fake's `to_py`) as it is."""
    if value is jsnull or value is None:
        return None
    if not hasattr(value, "to_py"):
        return value
    return json.loads(_stringify_json(value)) if js is not None else value.to_py()


def js_response(status: int, body: bytes, headers: list[tuple[str, str]], stream: Any = None) -> Any:
    """A JS Response made in one call, which workerd (and the SDK's entrypoint) takes as a
    worker's answer: `workers.Response` converted its options piece by piece, about a
    third of a service's own Python time in Pyodide. The options go over as one JSON text
    (`json_to_js`), cheaper than `to_js` on the nested dict and list. `stream`, when given,
    is a JS body handed on as it is (shared.http.HttpResponse)."""
    if stream is None:
        stream = to_js(body) if body else jsnull
    return _new_response(stream, json_to_js({"status": status, "headers": headers}))


def header_pairs(js_message: Any) -> list[tuple[str, str]]:
    """A JS Request's or Response's headers as (name, value) pairs, in one conversion (the
    SDK's `.headers` builds an `email.message.Message` each time: about 0.4 ms in Pyodide)."""
    return [(name, value) for name, value in _array_from(js_message.headers).to_py()]
