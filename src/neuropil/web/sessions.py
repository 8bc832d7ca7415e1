"""Stateless, signed session cookies.

A session is a small JSON document in the ``np_session`` cookie, signed with HMAC-SHA256
under a key derived from the server secret (the one that signs upload URLs), so any API
process of an instance can read it and nothing is stored server-side. It holds:

* ``sid`` - a random id; the CSRF token is derived from it (:mod:`neuropil.web.csrf`), and
  signing in issues a fresh one, so a session id planted before sign-in is worthless;
* ``uid`` and ``pwd`` - the user and a keyed fingerprint of their password hash: changing
  the password changes the hash, which ends every session signed for the old one;
* ``exp`` - the expiry (Unix time), checked on every read;
* ``flash`` - a one-shot message for the page after a redirect.

Signing out deletes the cookie in that browser. A cookie copied elsewhere stays valid
until it expires or the password changes (the price of keeping no server-side state; see
``docs/design/web.md``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

COOKIE = "np_session"
#: Signed-in sessions last two weeks; anonymous ones (they only carry the CSRF id of a
#: sign-in or sign-up form) a day.
USER_LIFETIME = 14 * 24 * 3600
ANONYMOUS_LIFETIME = 24 * 3600
MAX_FLASH = 500


@dataclass(frozen=True)
class Session:
    sid: str
    expires: int
    user_id: int | None = None
    fingerprint: str | None = None
    flash: str | None = None

    @classmethod
    def anonymous(cls) -> Session:
        return cls(sid=secrets.token_urlsafe(16), expires=int(time.time()) + ANONYMOUS_LIFETIME)

    @classmethod
    def signed_in(cls, user_id: int, fingerprint: str) -> Session:
        return cls(
            sid=secrets.token_urlsafe(16),
            expires=int(time.time()) + USER_LIFETIME,
            user_id=user_id,
            fingerprint=fingerprint,
        )

    def with_flash(self, message: str | None) -> Session:
        return replace(self, flash=message[:MAX_FLASH] if message else None)

    @property
    def max_age(self) -> int:
        return max(0, self.expires - int(time.time()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Encodes, signs, verifies and decodes session cookies; derives keyed digests."""

    def __init__(self, secret: bytes) -> None:
        # A key of its own: a session MAC can never be replayed as an upload URL signature.
        self._key = hmac.new(secret, b"neuropil web session key v1", hashlib.sha256).digest()

    def digest(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` for ``purpose`` (CSRF tokens, password fingerprints)."""
        msg = f"{purpose}\0{value}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def fingerprint(self, password_hash: str) -> str:
        return self.digest("password", password_hash)[:32]

    def encode(self, session: Session) -> str:
        doc: dict[str, Any] = {"sid": session.sid, "exp": session.expires}
        if session.user_id is not None:
            doc["uid"] = session.user_id
            doc["pwd"] = session.fingerprint
        if session.flash:
            doc["flash"] = session.flash
        payload = _b64(json.dumps(doc, separators=(",", ":")).encode())
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return f"{payload}.{_b64(mac)}"

    def decode(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, or ``None`` when absent, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        expected = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(mac), expected):
                return None
            doc = json.loads(_unb64(payload))
            session = Session(
                sid=str(doc["sid"]),
                expires=int(doc["exp"]),
                user_id=int(doc["uid"]) if doc.get("uid") is not None else None,
                fingerprint=str(doc["pwd"]) if doc.get("pwd") is not None else None,
                flash=str(doc["flash"]) if doc.get("flash") else None,
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None
        if session.expires < time.time():
            return None
        return session
