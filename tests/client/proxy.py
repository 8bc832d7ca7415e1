"""A loopback HTTP proxy in front of a real server that can misbehave on request.

It forwards every request (keeping the ``Host`` header, so redirects the server builds point
back at the proxy), counts requests and body bytes, and can for the first N requests whose
path matches a pattern: answer 429 with ``Retry-After`` (or 403, as an expired signed URL
does), cut the body short, drop the
``Range`` header (a server that ignores ranges) or lie in ``Content-Range``. With ``rate`` set,
it sends bodies no faster than that many bytes a second, all connections together (a slow
link, for tests that must interrupt a transfer midway).
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}

Fault = Literal["429", "403", "truncate", "ignore-range", "bad-content-range"]


@dataclass
class Rule:
    fault: Fault
    pattern: re.Pattern[str]
    times: int
    #: For "truncate": body bytes sent before the connection is cut.
    after: int = 0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int
    range: str | None


class Proxy:
    """Forwards to ``upstream`` (``http://host:port``); see the module docstring."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests: list[Seen] = []
        self.body_bytes = 0
        #: Body bytes sent, per request path (without its query string).
        self.path_bytes: Counter[str] = Counter()
        #: Body bytes a second, for all connections together (``None``: as fast as it goes).
        self.rate: float | None = None
        self._free_at = 0.0
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def inject(self, fault: Fault, pattern: str, times: int = 1, *, after: int = 0) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path matches ``pattern``."""
        with self.lock:
            self.rules.append(Rule(fault, re.compile(pattern), times, after))

    def take(self, method: str, path: str) -> Rule | None:
        """The rule (if any) this request triggers, consuming one of its uses."""
        with self.lock:
            for rule in self.rules:
                if rule.times > 0 and rule.pattern.search(path):
                    rule.times -= 1
                    return rule
        return None

    def throttle(self, n: int) -> None:
        """Wait until ``n`` more bytes fit the rate: each sender waits its turn."""
        if self.rate is None:
            return
        with self.lock:
            now = time.monotonic()
            self._free_at = max(self._free_at, now) + n / self.rate
            delay = self._free_at - now
        time.sleep(delay)

    def bytes_under(self, prefix: str) -> int:
        """Body bytes sent so far for paths that start with ``prefix``."""
        with self.lock:
            return sum(n for path, n in self.path_bytes.items() if path.startswith(prefix))

    def seen(self, seen: Seen) -> None:
        with self.lock:
            self.requests.append(seen)

    def count(self, pattern: str, status: int | None = None) -> int:
        rx = re.compile(pattern)
        with self.lock:
            return sum(
                1
                for s in self.requests
                if rx.search(s.path) and (status is None or s.status == status)
            )


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.forward()

        do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

        def forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            rule = proxy.take(self.command, self.path)
            if rule is not None and rule.fault in ("429", "403"):
                self.refuse(int(rule.fault))
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if rule is not None and rule.fault == "ignore-range":
                headers = {k: v for k, v in headers.items() if k.lower() != "range"}
            conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                self.relay(conn.getresponse(), rule)
            except OSError:
                self.close_connection = True  # the client or the server went away
            finally:
                conn.close()

        def refuse(self, status: int) -> None:
            proxy.seen(Seen(self.command, self.path, status, self.headers.get("range")))
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def relay(self, resp: http.client.HTTPResponse, rule: Rule | None) -> None:
            proxy.seen(Seen(self.command, self.path, resp.status, self.headers.get("range")))
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() in HOP_BY_HOP:
                    continue
                if key.lower() == "content-range" and rule and rule.fault == "bad-content-range":
                    value = re.sub(r"bytes (\d+)-", lambda m: f"bytes {int(m[1]) + 1}-", value)
                self.send_header(key, value)
            self.end_headers()
            limit = rule.after if rule is not None and rule.fault == "truncate" else None
            self.copy_body(resp, limit)

        def copy_body(self, resp: http.client.HTTPResponse, limit: int | None) -> None:
            sent = 0
            # Counted before they are written: once written, the client may have them all and
            # the test may read the count before this thread resumes.
            while chunk := resp.read(1 << 16):
                if limit is not None and sent + len(chunk) > limit:
                    self.count(limit - sent)
                    self.wfile.write(chunk[: limit - sent])
                    self.close_connection = True  # cut: the client sees a short body
                    return
                self.count(len(chunk))
                self.wfile.write(chunk)
                sent += len(chunk)

        def count(self, n: int) -> None:
            with proxy.lock:
                proxy.body_bytes += n
                proxy.path_bytes[self.path.partition("?")[0]] += n
            proxy.throttle(n)

    return Handler


@contextmanager
def running_proxy(upstream: str) -> Iterator[Proxy]:
    proxy = Proxy(upstream)
    thread = threading.Thread(target=proxy.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.httpd.shutdown()
        proxy.httpd.server_close()
        thread.join(5)
