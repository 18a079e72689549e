"""Schemathesis hooks for tests/e2e/test_fuzz.py (loaded with SCHEMATHESIS_HOOKS).

Each request comes from its own client address, so the per-client rate limit hides no
logic from the fuzzer (on Cloudflare the edge sets CF-Connecting-IP; here the test does).
The bearer token is an auth provider, not a fixed header, so the fuzzer can still send
requests without it and check they are refused.
"""

import itertools
import os
from typing import Any

import schemathesis

_addresses = itertools.count(1)
_NETWORK = int(os.environ.get("FUZZ_NETWORK", "10"))  # first octet: one per fuzz process running at once


@schemathesis.auth()
class Bearer:
    def get(self, case: Any, context: Any) -> str:
        return os.environ["FUZZ_TOKEN"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    n = next(_addresses)
    address = f"{_NETWORK}.{n // 65_536 % 256}.{n // 256 % 256}.{n % 256}"
    case.headers = {**(case.headers or {}), "CF-Connecting-IP": address}
