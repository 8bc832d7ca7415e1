"""Password hashing for web sign-in: Argon2id (``argon2-cffi``), the OWASP first choice.

The stored string carries the algorithm and its parameters (``$argon2id$v=19$m=...``), so
the parameters can be raised later: :func:`needs_rehash` tells sign-in to store a fresh
hash while it still holds the password.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from neuropil.errors import BadRequest
from neuropil.web.common_passwords import COMMON_PASSWORDS
from neuropil.web.hash_gate import HashGate

#: NIST SP 800-63B asks for at least 8; 10 keeps the common 8- and 9-character choices out.
MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing megabytes of "password" is a denial of service, not security
#: What is stripped from the end before the common-password check ("Password123!").
_DECORATION = "0123456789!@#$%^&*()_+-=.,?~ "

_hasher = PasswordHasher()
#: Every hash and verification of this process passes here (memory and CPU are per process).
GATE = HashGate()

#: Verified against when the username is unknown, so a wrong name costs the same time as a
#: wrong password and sign-in does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("neuropil-no-such-user")


def check_strength(password: str, *, username: str = "") -> None:
    """Refuse passwords that are too short or too long, only white space, one of the most
    common passwords (also with digits or symbols appended), or the username itself."""
    if not password.strip():
        raise BadRequest("Choose a password that is not only spaces.")
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"Choose a password of at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"Choose a password of at most {MAX_LENGTH} characters.")
    plain = password.strip().lower()
    if username and plain == username.strip().lower():
        raise BadRequest("Choose a password that differs from your username.")
    if plain in COMMON_PASSWORDS or plain.rstrip(_DECORATION) in COMMON_PASSWORDS:
        raise BadRequest(
            "That password is one of the most common ones, the first any attacker tries; "
            "choose another (a few unrelated words make a good one)."
        )


def hash_password(password: str) -> str:
    """An Argon2id hash; raises :class:`~neuropil.errors.Overloaded` when too many hashes
    are being computed at once (see :mod:`neuropil.web.hash_gate`)."""
    with GATE.slot():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing or unreadable hash never matches (but costs
    the same time as a real check). Passes :data:`GATE` as :func:`hash_password` does."""
    if len(password) > MAX_LENGTH:
        return False
    with GATE.slot():
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
