"""The client tests' proxy plus what streaming tests need: 5xx answers, a server refusing
HEAD, an ETag that changes (the object was replaced), a delay, and a count of requests in
flight at once."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.client import proxy as base


class StreamProxy(base.Proxy):
    """A :class:`tests.client.proxy.Proxy` with the extra faults above."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.httpd.RequestHandlerClass = _handler(self)
        self.statuses: list[tuple[re.Pattern[str], int, list[int]]] = []
        self.delay = 0.0
        self.refuse_head = False
        self.etag: str | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    def fail(self, status: int, pattern: str, times: int = 1) -> None:
        """Answer ``status`` to the next ``times`` requests whose path matches ``pattern``."""
        with self.lock:
            self.statuses.append((re.compile(pattern), status, [times]))

    def take_status(self, path: str) -> int | None:
        with self.lock:
            for rx, status, left in self.statuses:
                if left[0] > 0 and rx.search(path):
                    left[0] -= 1
                    return status
        return None

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def reset(self) -> None:
        """Forget the requests seen so far (faults stay)."""
        with self.lock:
            self.requests.clear()
            self.body_bytes = 0
            self.max_in_flight = 0

    def ranged(self) -> list[base.Seen]:
        """Requests that carried a ``Range`` header."""
        with self.lock:
            return [s for s in self.requests if s.range]


def _handler(proxy: StreamProxy) -> type[Any]:
    class Handler(base._handler(proxy)):  # type: ignore[misc]
        def forward(self) -> None:
            proxy.enter()
            try:
                if proxy.delay:
                    time.sleep(proxy.delay)
                status = 405 if self.command == "HEAD" and proxy.refuse_head else None
                status = status or proxy.take_status(self.path)
                if status is not None:
                    self.refuse(status)
                else:
                    super().forward()
            finally:
                proxy.leave()

        def send_header(self, keyword: str, value: str) -> None:
            if keyword.lower() == "etag" and proxy.etag is not None:
                value = proxy.etag
            super().send_header(keyword, value)

    return Handler


@contextmanager
def running_proxy(upstream: str) -> Iterator[StreamProxy]:
    proxy = StreamProxy(upstream)
    thread = threading.Thread(target=proxy.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.httpd.shutdown()
        proxy.httpd.server_close()
        thread.join(5)
