"""Password hashing: PBKDF2-HMAC-SHA256 on WebCrypto in the runtime, hashlib in CPython.

Why two paths: pure-Python hashing in wasm is far too slow for 100,000 iterations,
while `crypto.subtle` runs natively in workerd. Both give the same bytes for the
same parameters (tests/unit/crypto_vector.py holds the shared test vector).
Cloudflare caps WebCrypto PBKDF2 at 100,000 iterations, hence the default.
"""

import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

ITERATIONS = 100_000
SALT_BYTES = 16
KEY_BYTES = 32
MAX_ITERATIONS = 100_000  # WebCrypto's cap on Cloudflare: a stored hash above it could never be checked


@dataclass(frozen=True)
class PasswordHash:
    """What is stored per user: the derived key, its salt and the work factor used."""

    key: bytes
    salt: bytes
    iterations: int


async def pbkdf2_sha256(password: str, salt: bytes, iterations: int, length: int = KEY_BYTES) -> bytes:
    """The raw PBKDF2-HMAC-SHA256 key, on whichever engine this interpreter has."""
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be 1..{MAX_ITERATIONS}")
    secret = password.encode("utf-8")
    if sys.platform == "emscripten":
        return await _webcrypto_pbkdf2(secret, salt, iterations, length)
    return hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, length)


async def _webcrypto_pbkdf2(secret: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """`crypto.subtle.deriveBits` over the JS boundary; imported lazily (absent in CPython)."""
    from pyodide.ffi import to_js

    subtle, usages, from_entries = _webcrypto()
    key = await subtle.importKey("raw", to_js(secret), "PBKDF2", False, usages)
    params = {"name": "PBKDF2", "hash": "SHA-256", "salt": salt, "iterations": iterations}
    bits = await subtle.deriveBits(to_js(params, dict_converter=from_entries), key, length * 8)
    return bytes(bits.to_bytes())


@cache
def _webcrypto() -> tuple[Any, Any, Any]:
    """`crypto.subtle`, the key usages and `Object.fromEntries`, looked up once per isolate
    (each attribute of a JS object read from Python crosses into JS)."""
    import js
    from pyodide.ffi import to_js

    return js.crypto.subtle, to_js(["deriveBits"]), js.Object.fromEntries


class Pbkdf2Hasher:
    """Hashes new passwords and checks given ones against a stored `PasswordHash`."""

    def __init__(self, iterations: int = ITERATIONS) -> None:
        self.iterations = iterations
        # A check against this costs the same as a real one: logins for unknown
        # emails spend one hash too, so timing does not tell which emails exist.
        self._decoy = PasswordHash(bytes(KEY_BYTES), bytes(SALT_BYTES), iterations)

    async def hash(self, password: str) -> PasswordHash:
        salt = secrets.token_bytes(SALT_BYTES)
        key = await pbkdf2_sha256(password, salt, self.iterations)
        return PasswordHash(key, salt, self.iterations)

    async def verify(self, password: str, stored: PasswordHash) -> bool:
        """Constant-time comparison, with the stored work factor (so old hashes still verify)."""
        key = await pbkdf2_sha256(password, stored.salt, stored.iterations, len(stored.key))
        return hmac.compare_digest(key, stored.key)

    async def waste(self, password: str) -> None:
        """Spend one hash for nothing: the unknown-email path of a login."""
        await self.verify(password, self._decoy)
