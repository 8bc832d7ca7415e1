"""One TLS client context per process, whose trust store loads on the first TLS connection.

httpx builds an SSL context, loading certifi's ~150 CA certificates (~25 ms), whenever a
client is created, even one that only ever speaks plain HTTP to a lab's archive. A CLI
command creates two or three clients, and start-up is most of a quick command's time (a
re-upload of unchanged files, say). Every neuropil HTTP client shares :func:`client_context`
instead: a context verifying exactly as httpx's default does (certifi, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set), which loads its certificates just before it wraps its first
socket.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

_lock = threading.Lock()
_context: LazyTrustContext | None = None


class LazyTrustContext(ssl.SSLContext):
    """A ``PROTOCOL_TLS_CLIENT`` context (hostname check, certificate required) that loads
    its CA certificates on first use."""

    _trust_loaded = False

    def __new__(cls) -> LazyTrustContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

    def __init__(self) -> None:
        super().__init__()
        self._trust_lock = threading.Lock()

    def load_trust(self) -> None:
        """Load the CA certificates now (idempotent, thread-safe)."""
        if self._trust_loaded:
            return
        with self._trust_lock:
            if self._trust_loaded:
                return
            if os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                import certifi

                self.load_verify_locations(cafile=certifi.where())
            self._trust_loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        self.load_trust()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
        self.load_trust()
        return super().wrap_bio(*args, **kwargs)


def client_context() -> LazyTrustContext:
    """The process-wide TLS context for ``httpx.Client(verify=...)``."""
    global _context
    if _context is None:
        with _lock:
            if _context is None:
                _context = LazyTrustContext()
    return _context
