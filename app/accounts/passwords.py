"""Password hashing with Argon2id (argon2-cffi); cost parameters come from the configuration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

_hashers: dict[tuple[int, int], PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    key = (
        current_app.config.get("PASSWORD_HASH_TIME_COST", 3),
        current_app.config.get("PASSWORD_HASH_MEMORY_KIB", 65536),
    )
    if key not in _hashers:
        _hashers[key] = PasswordHasher(time_cost=key[0], memory_cost=key[1])
    return _hashers[key]


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)


# A real hash to verify against when the account does not exist, so that a login for an unknown
# email takes as long as one for a known email (no user enumeration by timing).
def dummy_verify(password: str) -> None:
    """Spend the same time as a real verification."""
    key = "dummy_hash"
    if key not in current_app.extensions:
        current_app.extensions[key] = hash_password("not-a-real-password")
    verify_password(current_app.extensions[key], password)
