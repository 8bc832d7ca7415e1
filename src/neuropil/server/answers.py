"""Answers after the pass: each response starts only once the event loop has gone round.

An HTTP request's handler runs as an asyncio task that uvicorn starts when the request
arrives. A short read does all its work without suspending (``neuropil.server.reads``), so
without this wrapper each task ran from the request to its ``write()`` on the socket in one
go, and the handlers and socket writes of the requests in flight alternated one by one.
:class:`AnswersAfterPass` makes a response's start a suspension point (one
``checkpoint()``, a trip round the loop): the handlers of the requests that are ready run
back to back, then their answers go out back to back, in the order they became ready.

Measured with ``wrk`` (16 connections, one process on SQLite, A/B on the same data): every
request of the load benchmark served 10-20 % more per second for 10-17 % less CPU, and p99
fell by up to half (the asset page 27-33 → 17-19 ms, the 1 MiB blob range 33-38 → 19-21
ms). With one connection nothing changes. Why the CPU per request falls is not fully worked
out; fewer loop passes and wake-ups per answer is the likely part. Numbers:
``docs/design/performance.md``, tenth round.
"""

from __future__ import annotations

import anyio.lowlevel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AnswersAfterPass"]


class AnswersAfterPass:
    """ASGI wrapper: before an HTTP response starts, go once round the event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_after_pass(message: Message) -> None:
            if message["type"] == "http.response.start":
                await anyio.lowlevel.checkpoint()
            await send(message)

        await self.app(scope, receive, send_after_pass)
