"""shared.adapters.crypto on CPython: the shared vectors, and hashing/verifying behaviour."""

import hashlib

import pytest

from shared.adapters.crypto import ITERATIONS, KEY_BYTES, SALT_BYTES, PasswordHash, Pbkdf2Hasher, pbkdf2_sha256
from tests.unit import crypto_vector
from tests.unit.users_support import run


@pytest.mark.parametrize(("password", "salt_hex", "iterations", "length", "expected"), crypto_vector.VECTORS)
def test_vectors(password: str, salt_hex: str, iterations: int, length: int, expected: str) -> None:
    assert run(pbkdf2_sha256(password, bytes.fromhex(salt_hex), iterations, length)).hex() == expected


def test_production_vector_uses_production_parameters() -> None:
    """The e2e check of the WebCrypto side is only meaningful at the work factor we ship."""
    assert crypto_vector.ITERATIONS == ITERATIONS == 100_000
    assert crypto_vector.KEY_BYTES == KEY_BYTES
    assert len(bytes.fromhex(crypto_vector.SALT_HEX)) == SALT_BYTES
    expected = hashlib.pbkdf2_hmac(
        "sha256", crypto_vector.PASSWORD.encode(), bytes.fromhex(crypto_vector.SALT_HEX), ITERATIONS, KEY_BYTES
    )
    assert expected.hex() == crypto_vector.KEY_HEX


@pytest.mark.parametrize("iterations", [0, 100_001])
def test_iterations_outside_webcrypto_limits_are_refused(iterations: int) -> None:
    with pytest.raises(ValueError):
        run(pbkdf2_sha256("pw", b"s" * 16, iterations))


def test_default_hasher_ships_the_capped_work_factor_and_sizes() -> None:
    stored = run(Pbkdf2Hasher().hash("hunter2hunter2"))
    assert (stored.iterations, len(stored.salt), len(stored.key)) == (100_000, 16, 32)


def test_hash_then_verify() -> None:
    hasher = Pbkdf2Hasher(iterations=1_000)
    stored = run(hasher.hash("correct horse"))
    assert run(hasher.verify("correct horse", stored))
    assert not run(hasher.verify("correct horsE", stored))
    assert not run(hasher.verify("", stored))


def test_every_hash_gets_its_own_salt() -> None:
    hasher = Pbkdf2Hasher(iterations=1_000)
    first, second = run(hasher.hash("same")), run(hasher.hash("same"))
    assert first.salt != second.salt and first.key != second.key


def test_verify_uses_the_stored_work_factor() -> None:
    """Hashes made at another work factor keep verifying after the default changes."""
    salt = bytes(range(16))
    stored = PasswordHash(hashlib.pbkdf2_hmac("sha256", b"pw-old-factor", salt, 2_000, 32), salt, 2_000)
    assert run(Pbkdf2Hasher(iterations=1_000).verify("pw-old-factor", stored))


def test_waste_spends_a_hash_and_never_matches() -> None:
    calls: list[int] = []
    hasher = Pbkdf2Hasher(iterations=1_000)

    async def counting_verify(password: str, stored: PasswordHash) -> bool:
        calls.append(stored.iterations)
        return await Pbkdf2Hasher.verify(hasher, password, stored)

    hasher.verify = counting_verify  # type: ignore[method-assign]
    run(hasher.waste("anything"))
    assert calls == [1_000]
