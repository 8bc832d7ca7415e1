"""A tiny loopback HTTP server whose answers a test chooses (for discovery edge cases)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def server_info(base: str, *, webui: bool = True) -> dict[str, Any]:
    """A DANDI server-info document for an archive rooted at ``base``."""
    services: dict[str, Any] = {"api": {"url": f"{base}/api"}}
    if webui:
        services["webui"] = {"url": base}
    return {
        "version": "1.0",
        "cli-minimal-version": "0.60.0",
        "cli-bad-versions": [],
        "services": services,
    }


class FakeArchive:
    """Serves ``routes[path] = (status, body)`` (a dict body is sent as JSON), 404 otherwise,
    and records every requested path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.routes.get(self.path, (404, "not found"))
                data = (json.dumps(body) if isinstance(body, dict) else str(body)).encode()
                ctype = "application/json" if isinstance(body, dict) else "text/html"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def name(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def fake_archive() -> Iterator[FakeArchive]:
    fake = FakeArchive()
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
        thread.join(5)
