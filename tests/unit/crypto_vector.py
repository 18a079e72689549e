"""Shared PBKDF2-HMAC-SHA256 test vectors for shared.adapters.crypto.

CPython (hashlib) and the runtime (WebCrypto in Pyodide) must both derive exactly
these keys; an e2e test can import this module to check the WebCrypto side.
Expected keys were computed once with `hashlib.pbkdf2_hmac` and hard-coded; the
first vector is the published RFC 7914 section 11 one (c = 1), an outside anchor.
"""

# The vector an e2e check should use: the production work factor and key length.
PASSWORD = "correct horse battery staple"
SALT_HEX = "000102030405060708090a0b0c0d0e0f"
ITERATIONS = 100_000
KEY_BYTES = 32
KEY_HEX = "49d49c25f597846209f0d92e7770ab64e1c75e94b4ce6c509265ee67175d2a1e"

# (password, salt hex, iterations, key length, expected key hex)
VECTORS = [
    ("password", b"salt".hex(), 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
    (PASSWORD, SALT_HEX, ITERATIONS, KEY_BYTES, KEY_HEX),
    # Non-ASCII: both sides must encode the password as UTF-8.
    (
        "pässwörd ✓ 🔑",
        "f0e1d2c3b4a5968778695a4b3c2d1e0f",
        100_000,
        32,
        "fe63d7421379c36286328f703b450d9b99f516fdd863c3a1b700f11883521ffb",
    ),
]
