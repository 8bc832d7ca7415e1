"""A loopback HTTP proxy that adds a fixed delay to every request and counts what passes.

The streaming benchmark puts it between every reader and ``neuropil serve``: the delay stands
for the round trip a real network adds to each request (the one cost that request counts
turn into seconds), and the counters are the same for every reader, whatever HTTP library it
uses (requests, httpx, aiohttp, urllib).

* Delay: ``latency`` seconds are slept after a request has been read and before it is
  forwarded; concurrent requests wait concurrently (one thread per client connection), so a
  reader that issues its ranges in parallel pays the delay once per wave, as on a network.
* Counters: requests, response body bytes actually written to the client, and a log of
  (method, path, Range, status, bytes). A client that hangs up mid-body (remfile's aborted
  size probe) is charged for what reached its socket before the hang-up.
* Keep-alive on both sides: a client connection keeps one upstream connection, so a reader
  with a keep-alive pool pays no new TCP handshakes; the Host header is forwarded unchanged,
  so redirects the server builds point back at the proxy.

The proxy does not change bodies or headers (hop-by-hop headers aside) and never caches.

It runs in a process of its own (:class:`ProxyProcess`; ``python -m
benchmarks.latency_proxy``), steered and read through ``/__proxy__/...`` requests that are
neither delayed nor counted. In the readers' process it would compete with them for the GIL,
and worse: h5py holds one global lock while it calls a Python file object's ``readinto``; if
the garbage collector runs on a proxy thread then and finalizes an old h5py object (whose
finalizer wants that lock), the proxy stops and the read waits for it forever (seen with
fsspec: a deadlock).
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}
RELAY_BLOCK = 1 << 20
CONTROL = "/__proxy__/"


@dataclass(frozen=True)
class Seen:
    """One forwarded request."""

    method: str
    path: str
    range: str | None
    status: int
    body_bytes: int


@dataclass(frozen=True)
class Counts:
    """Counters at one moment; subtract two to get what happened in between."""

    requests: int
    bytes: int
    log_length: int

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.requests - other.requests,
            self.bytes - other.bytes,
            self.log_length - other.log_length,
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up between requests is normal (remfile closes its size probe's
        connection, LINDI's urllib never keeps one): no traceback for those."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Upstream(http.client.HTTPConnection):
    """A connection to the server with Nagle's algorithm off, like the client side."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LatencyProxy:
    """Forwards to ``upstream`` (``http://host:port``) after ``latency`` seconds per request."""

    def __init__(self, upstream: str, latency: float = 0.0, port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.latency = latency
        self.log: list[Seen] = []
        self._requests = 0
        self._bytes = 0
        self._active = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.httpd = _Server(("127.0.0.1", port), _handler(self))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    # -- counters --------------------------------------------------------------------------

    def counts(self) -> Counts:
        with self._lock:
            return Counts(self._requests, self._bytes, len(self.log))

    def since(self, before: Counts) -> list[Seen]:
        """The requests logged after ``before`` was taken."""
        with self._lock:
            return list(self.log[before.log_length :])

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no request is in flight (a reader's leftovers must not be counted for
        the next one); False if some still are after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    @contextmanager
    def _request(self) -> Iterator[None]:
        with self._lock:
            self._active += 1
            self._requests += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.log.append(seen)

    def _sent(self, n: int) -> None:
        with self._lock:
            self._bytes += n

    # -- control requests ------------------------------------------------------------------

    def control(self, method: str, path: str) -> Any:
        """Answer a ``/__proxy__/...`` request (JSON)."""
        parts = urlsplit(path)
        what = parts.path.removeprefix(CONTROL)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if what == "counts":
            return asdict(self.counts())
        if what == "log":
            start = int(query.get("since", "0"))
            with self._lock:
                return [asdict(s) for s in self.log[start:]]
        if what == "idle":
            return {"idle": self.wait_idle(float(query.get("timeout", "30")))}
        if what == "latency" and method == "POST":
            self.latency = float(query["seconds"])
            return {"latency": self.latency}
        raise KeyError(f"unknown control request {method} {path}")


def _handler(proxy: LatencyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        upstream_conn: http.client.HTTPConnection | None = None
        sent = 0

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle's algorithm
            # and the client's delayed ACK add ~40 ms to every answer after the first.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            if self.path.startswith(CONTROL):
                self.answer_control()
                return
            with proxy._request():
                self.forward()

        do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

        def finish(self) -> None:
            super().finish()
            if self.upstream_conn is not None:
                self.upstream_conn.close()

        def answer_control(self) -> None:
            try:
                body, status = json.dumps(proxy.control(self.command, self.path)).encode(), 200
            except (KeyError, ValueError) as exc:
                body, status = json.dumps({"error": str(exc)}).encode(), 400
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def upstream(self) -> http.client.HTTPConnection:
            if self.upstream_conn is None:
                self.upstream_conn = _Upstream(*proxy.upstream, timeout=300)
            return self.upstream_conn

        def forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if proxy.latency > 0:
                time.sleep(proxy.latency)
            conn = self.upstream()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: one fresh attempt.
                conn.close()
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
            self.sent = 0
            try:
                self.relay(resp)
            except OSError:
                self.close_connection = True  # the client hung up
                conn.close()  # the rest of the body is still on the upstream socket
            finally:
                seen = Seen(self.command, self.path, self.headers.get("range"), resp.status, 0)
                proxy._record(replace(seen, body_bytes=self.sent))

        def relay(self, resp: http.client.HTTPResponse) -> None:
            """Send the answer on, counting in ``sent`` the body bytes the client's socket
            accepted."""
            length = resp.getheader("content-length")
            pending = b""
            if length is None and self.command != "HEAD":
                pending = resp.read()  # chunked: re-send with a length
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            if length is None and self.command != "HEAD":
                self.send_header("Content-Length", str(len(pending)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if pending:
                self.send_body(pending)
                return
            left = int(length or 0)
            while left > 0:
                block = resp.read(min(RELAY_BLOCK, left))
                if not block:  # the server cut the body short: so must we
                    self.close_connection = True
                    raise ConnectionError("upstream closed before the end of the body")
                self.send_body(block)
                left -= len(block)

        def send_body(self, block: bytes) -> None:
            self.wfile.write(block)
            self.sent += len(block)
            proxy._sent(len(block))

    return Handler


# -- the proxy in a process of its own ----------------------------------------------------------


class ProxyProcess:
    """A :class:`LatencyProxy` in a child process (``python -m benchmarks.latency_proxy``),
    with the same counters, read over its control requests."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self._latency = 0.0
        self._control = httpx.Client(timeout=120)

    def start(self) -> ProxyProcess:
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.latency_proxy", "--upstream", self.upstream],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()  # "listening on http://127.0.0.1:PORT"
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the latency proxy did not start: {line!r}")
        self.url = line.removeprefix("listening on ")
        return self

    def stop(self) -> None:
        self._control.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # our own child, by its pid
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, method: str, what: str, **params: Any) -> Any:
        r = self._control.request(method, f"{self.url}{CONTROL}{what}", params=params)
        r.raise_for_status()
        return r.json()

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._call("POST", "latency", seconds=seconds)
        self._latency = seconds

    def counts(self) -> Counts:
        return Counts(**self._call("GET", "counts"))

    def since(self, before: Counts) -> list[Seen]:
        return [Seen(**s) for s in self._call("GET", "log", since=before.log_length)]

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return bool(self._call("GET", "idle", timeout=timeout)["idle"])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.latency_proxy", description=__doc__)
    p.add_argument("--upstream", required=True, help="http://host:port to forward to")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    args = p.parse_args(argv)
    proxy = LatencyProxy(args.upstream, args.latency, args.port)

    def _term(signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _term)
    print(f"listening on {proxy.url}", flush=True)
    try:
        proxy.httpd.serve_forever()
    finally:
        proxy.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
