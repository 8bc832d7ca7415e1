"""An httpcore network backend that receives in large reads.

httpcore asks its socket for 64 KiB at a time, and every read is then a trip through h11's
parser and httpcore's event loop in Python. For a blob of a GiB that per-read cost, not the
network, bounds a download on loopback or a fast LAN: 1 GiB took 2.7 s of CPU in 64 KiB
reads and 0.9 s in 1 MiB reads (measured with nginx on loopback; docs/design/downloads.md).
The streams below ask the socket for at least :data:`RECV_BYTES` per read. ``recv`` returns
what has arrived, never waiting for more, so small answers are not delayed, and h11 keeps
any bytes past the current event in its own buffer, as it does for a 64 KiB read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

#: The least a read asks of the socket.
RECV_BYTES = 1 << 20


class _LargeReadStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, RECV_BYTES), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _LargeReadStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class LargeReadBackend(httpcore.NetworkBackend):
    """httpcore's own synchronous backend, with :class:`_LargeReadStream` streams."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _LargeReadStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _LargeReadStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def http_transport(**kwargs: Any) -> httpx.HTTPTransport:
    """``httpx.HTTPTransport(**kwargs)`` whose connections receive in large reads.

    httpx does not take a network backend, so it is set on the transport's connection pool;
    should a later httpx or httpcore lay that out differently, the transport is returned as
    it is (slower, never wrong)."""
    transport = httpx.HTTPTransport(**kwargs)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = LargeReadBackend()
    return transport
