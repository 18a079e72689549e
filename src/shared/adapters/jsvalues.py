"""Turning what a binding returns into plain Python at the adapter edge.

Through the `workers` SDK's binding wrappers results are already Python; a raw JS
proxy (a binding the SDK does not wrap) is converted here, so services never see one.
"""

from typing import Any


def to_python(value: Any) -> Any:
    if hasattr(value, "to_py"):
        value = value.to_py()
    if isinstance(value, dict):
        return {key: to_python(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_python(item) for item in value]
    return value
