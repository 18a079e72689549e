"""Turning what a binding returns into plain Python at the adapter edge.

Through the `workers` SDK's binding wrappers results are already Python; a raw JS
proxy (a binding the SDK does not wrap) is converted here, so services never see one.
"""

from typing import Any


def to_python(value: Any) -> Any:
    """A JS proxy's deep conversion (`to_py` converts what it holds too); anything else as it is.

    What the SDK's wrappers return is Python all the way down already: walking it again
    cost a D1 page of 20 orders about 0.4 ms in Pyodide.
    """
    return value.to_py() if hasattr(value, "to_py") else value


def header_pairs(message: Any) -> list[tuple[str, str]]:
    """A runtime Request's or Response's headers as (name, value) pairs.

    Read off the JS object under the SDK's wrapper in one conversion: the wrapper's
    `.headers` builds an `email.message.Message` each time, which cost about 0.4 ms per
    request in Pyodide. Anything without a JS object (a test's fake) is asked for
    `.headers.items()`.
    """
    js_object = getattr(message, "js_object", None)
    if js_object is None:
        return list(message.headers.items())
    import js  # only inside Pyodide, where a JS object exists

    return [(str(name), str(value)) for name, value in js.Array.from_(js_object.headers).to_py()]
