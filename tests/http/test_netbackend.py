"""The client's connections receive in large reads (fewer trips through h11 per MiB)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest

from neuropil.http.netbackend import RECV_BYTES, LargeReadBackend, _LargeReadStream
from neuropil.http.transport import Transport

BODY = os.urandom(5 * RECV_BYTES + 12345)


class _Recording(httpcore.NetworkStream):
    """A real socket stream that records the size asked of each read."""

    def __init__(self, inner: httpcore.NetworkStream, asked: list[int]) -> None:
        self._inner = inner
        self._asked = asked

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._asked.append(max_bytes)
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()


class _RecordingBackend(LargeReadBackend):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        real = httpcore.SyncBackend().connect_tcp(host, port, *args, **kwargs)
        return _LargeReadStream(_Recording(real, self.asked))


@pytest.fixture
def http_server() -> Iterator[str]:
    """A bare HTTP/1.1 server on loopback that answers every request with ``BODY``."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
                conn.sendall(head + BODY)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}"
    stop.set()
    sock.close()
    t.join(5)


def test_transport_connections_use_the_large_read_backend() -> None:
    # Guards against an httpx/httpcore release that moves the pool: the speed-up would
    # otherwise vanish silently.
    with Transport("http://127.0.0.1:9/api") as t:
        pool = t.client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, LargeReadBackend)


def test_reads_ask_for_at_least_a_mib_and_the_body_arrives_intact(http_server: str) -> None:
    with Transport(f"{http_server}/api") as t:
        backend = _RecordingBackend()
        t.client._transport._pool._network_backend = backend  # type: ignore[attr-defined]
        with t.client.stream("GET", f"{http_server}/blob") as r:
            got = b"".join(r.iter_raw())
    assert hashlib.sha256(got).digest() == hashlib.sha256(BODY).digest()
    assert backend.asked and min(backend.asked) >= RECV_BYTES
