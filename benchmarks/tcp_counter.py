"""A loopback TCP relay that counts the bytes each way: what a client really sent.

The Zarr benchmark runs its re-uploads through it, so "bytes sent" is every byte the
client's sockets wrote to the server (request lines, headers, bodies, tar framing), not just
the files' bytes. It runs on an event loop in a thread of the benchmark's process, which
only waits for the CLI process meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass


@dataclass
class Counts:
    connections: int = 0
    sent: int = 0  # client -> server
    received: int = 0  # server -> client


class TcpCounter:
    """``with TcpCounter(port) as relay:`` forwards ``relay.port`` to ``upstream_port``."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.port = 0
        self.counts = Counts()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> TcpCounter:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, self.host, 0), self._loop
        ).result()
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def reset(self) -> None:
        self.counts = Counts()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counts.connections += 1
        up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        await asyncio.gather(
            self._pump(reader, up_writer, "sent"), self._pump(up_reader, writer, "received")
        )

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, counter: str
    ) -> None:
        try:
            while data := await src.read(1 << 16):
                setattr(self.counts, counter, getattr(self.counts, counter) + len(data))
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                dst.close()
