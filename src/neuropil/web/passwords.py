"""Password hashing for web sign-in: Argon2id (``argon2-cffi``), the OWASP first choice.

The stored string carries the algorithm and its parameters (``$argon2id$v=19$m=...``), so
the parameters can be raised later: :func:`needs_rehash` tells sign-in to store a fresh
hash while it still holds the password.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from neuropil.errors import BadRequest

MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing megabytes of "password" is a denial of service, not security

_hasher = PasswordHasher()

#: Verified against when the username is unknown, so a wrong name costs the same time as a
#: wrong password and sign-in does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("neuropil-no-such-user")


def check_strength(password: str, *, username: str = "") -> None:
    """Refuse passwords that are too short, too long or the username itself."""
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"Choose a password of at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"Choose a password of at most {MAX_LENGTH} characters.")
    if username and password.strip().lower() == username.strip().lower():
        raise BadRequest("Choose a password that differs from your username.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing or unreadable hash never matches (but costs
    the same time as a real check)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
