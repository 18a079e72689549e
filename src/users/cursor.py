"""Opaque keyset cursors: base64url of the last row's sort key.

Opaque so that clients cannot depend on the key's shape; keyset (not offset) so
that pages stay stable and cheap while rows are inserted or deleted.
"""

import base64
import binascii
import json


def encode_cursor(created_at: str, user_id: str) -> str:
    raw = json.dumps([created_at, user_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (created_at, id) key a cursor names; ValueError for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ValueError("cursor is not one this API issued") from None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(part, str) for part in key)):
        raise ValueError("cursor is not one this API issued")
    return key[0], key[1]
