"""The shared TLS context verifies like httpx's default, loading its trust store lazily."""

from __future__ import annotations

import http.server
import os
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuropil.http.tls import LazyTrustContext, client_context
from neuropil.http.transport import Transport


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """A loopback plain-HTTP server."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def https_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A loopback HTTPS server with a self-signed certificate for 127.0.0.1."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", cert
    server.shutdown()


PROBE = textwrap.dedent(
    """
    import sys
    import httpx
    from neuropil.http.tls import client_context
    from neuropil.http.transport import Transport

    t = Transport(sys.argv[1])
    assert not client_context()._trust_loaded  # creating a client loads no certificates
    try:
        print(t.client.get(sys.argv[1]).text)
    except httpx.ConnectError as exc:
        print("refused:", exc)
    print("loaded" if client_context()._trust_loaded else "not loaded")
    """
)


def probe(url: str, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, url],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.splitlines()


def test_trusted_certificate_is_accepted(https_url: tuple[str, Path]) -> None:
    url, cert = https_url
    assert probe(url, SSL_CERT_FILE=str(cert)) == ["ok", "loaded"]


def test_untrusted_certificate_is_refused(https_url: tuple[str, Path]) -> None:
    """Without the certificate in the trust store (certifi's bundle), verification fails."""
    url, _ = https_url
    lines = probe(url)
    assert lines[0].startswith("refused:") and "CERTIFICATE_VERIFY_FAILED" in lines[0]
    assert lines[1] == "loaded"


def test_plain_http_never_loads_the_trust_store(http_url: str) -> None:
    assert probe(http_url) == ["ok", "not loaded"]


def test_context_is_shared_and_strict() -> None:
    ctx = client_context()
    assert client_context() is ctx and isinstance(ctx, LazyTrustContext)
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    with Transport("http://127.0.0.1:9/api") as one, Transport("https://127.0.0.1:9/api") as two:
        # The context each client's connections are wrapped with (httpcore's pool holds it).
        for t in (one, two):
            assert t.client._transport._pool._ssl_context is ctx  # type: ignore[attr-defined]
