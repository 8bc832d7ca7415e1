"""Signed, expiring URLs for the endpoints that stand in for an object store.

Part-upload and complete URLs are used without an ``Authorization`` header (exactly like
S3 presigned URLs), so they carry an HMAC over the method, the path and the parameters.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlencode

EXPIRES_PARAM = "X-Np-Expires"
SIGNATURE_PARAM = "X-Np-Signature"


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, method: str, path: str, params: Mapping[str, str]) -> str:
        canonical = "\n".join([method.upper(), path, *(f"{k}={params[k]}" for k in sorted(params))])
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()

    def sign(self, method: str, path: str, params: Mapping[str, str], expires_in: int) -> str:
        """Return the query string (without ``?``) that authorizes ``method path`` until expiry."""
        full = {**params, EXPIRES_PARAM: str(int(time.time()) + expires_in)}
        full[SIGNATURE_PARAM] = self._mac(method, path, full)
        return urlencode(full)

    def verify(self, method: str, path: str, params: Mapping[str, str]) -> str | None:
        """Return ``None`` if the signature is valid and unexpired, else the reason it is not."""
        sig = params.get(SIGNATURE_PARAM)
        expires = params.get(EXPIRES_PARAM)
        if not sig or not expires:
            return "The URL is not signed."
        unsigned = {k: v for k, v in params.items() if k != SIGNATURE_PARAM}
        if not hmac.compare_digest(sig, self._mac(method, path, unsigned)):
            return "The URL signature does not match."
        try:
            if int(expires) < time.time():
                return "The signed URL has expired; request a new one."
        except ValueError:
            return "The URL expiry is not a number."
        return None
