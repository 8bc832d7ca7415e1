"""Every client path that follows redirects goes through the one follower
(:mod:`neuropil.http.redirects`): the same hop limit, and the same token rule (the token goes
only to the API's origin, and a chain that leaves it never gets it back), whether a file is
downloaded, streamed, read as an index, fetched as a Zarr key or an archive is discovered.
All against ``httpx.MockTransport``: nothing here reaches a network."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from neuropil import reading
from neuropil.client import instances
from neuropil.client.archive import Archive
from neuropil.client.download import RemoteEntry, download_files
from neuropil.client.instances import Registry, discover
from neuropil.client.zarr_download import download_zarr
from neuropil.core.digests import file_etag
from neuropil.core.ranges import ByteRange
from neuropil.errors import RemoteError
from neuropil.http.redirects import MAX_REDIRECTS
from neuropil.http.transport import Backoff, Transport
from neuropil.stream.fetch import HttpFetcher

ROOT = "https://api.example.org"
API = f"{ROOT}/api"
TOKEN = "t0k3n"
ZARR = "z1"
KEY = "0/0"
INDEX = {"refs": {".zgroup": {"zarr_format": 2}}}


def server_info() -> dict[str, Any]:
    return {"services": {"api": {"url": API}, "webui": {"url": "https://example.org"}}}


class World:
    """An API whose download URLs (the *chain*) redirect to a bucket on another host, which
    redirects back to the API's origin, where the bytes are: three requests, of which only
    the first may carry the token. With ``loop``, a chain URL redirects to itself forever.
    The other API routes (a Zarr's listing, its info) answer directly."""

    def __init__(self, body: bytes, *, loop: bool = False) -> None:
        self.body = body
        self.loop = loop
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        url = request.url
        if url.path == f"/api/zarr/{ZARR}/files/" and "download" not in url.params:
            entry = {"Key": KEY, "ETag": hashlib.md5(self.body).hexdigest(), "Size": 4}
            return httpx.Response(200, json={"results": [entry], "next": None})
        if url.path == f"/api/zarr/{ZARR}/archive/":
            return httpx.Response(404, json={"detail": "no tars here"})
        if url.path == f"/api/zarr/{ZARR}/":
            return httpx.Response(200, json={"checksum": None})
        if self.loop:
            return httpx.Response(302, headers={"location": str(url)})
        if url.host == "api.example.org" and not url.path.startswith("/again/"):
            return httpx.Response(302, headers={"location": "https://bucket.example/b/x?sig=1"})
        if url.host == "bucket.example":
            return httpx.Response(307, headers={"location": f"{ROOT}/again/x"})
        return self._bytes(request)

    def _bytes(self, request: httpx.Request) -> httpx.Response:
        body, status, headers = self.body, 200, {}
        wanted = request.headers.get("range")
        if wanted:
            first, last = (int(n) for n in wanted.removeprefix("bytes=").split("-"))
            last = min(last, len(self.body) - 1)
            body, status = self.body[first : last + 1], 206
            headers["content-range"] = f"bytes {first}-{last}/{len(self.body)}"
        headers["content-length"] = str(len(body))
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    def chain(self) -> list[httpx.Request]:
        """The requests of redirect chains (not the Zarr listing and info)."""
        other = (f"/api/zarr/{ZARR}/", f"/api/zarr/{ZARR}/archive/")
        return [
            r
            for r in self.seen
            if r.url.path not in other
            and not (r.url.path == f"/api/zarr/{ZARR}/files/" and "download" not in r.url.params)
        ]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A name lookup or a connection would mean a real network call."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a real network call: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    instances.clear_discovery_cache()
    yield
    instances.clear_discovery_cache()


def transport(world: World) -> Transport:
    return Transport(API, TOKEN, backoff=Backoff(attempts=1), transport=httpx.MockTransport(world))


# -- each caller path, as a function of a transport and a scratch directory -----------------


class DownloadFailed(Exception):
    """The download engine records a file's failure (its reason) instead of raising."""


def ranged_download(t: Transport, tmp: Path, body: bytes) -> bytes:
    source = tmp / "source.bin"
    source.write_bytes(body)
    remote = RemoteEntry("a1", "x.bin", len(body), f"{API}/assets/a1/download/", file_etag(source))
    report = download_files(t, [(remote, tmp / "x.bin")])
    if report.failures:
        raise DownloadFailed(report.failures[0].reason)
    return (tmp / "x.bin").read_bytes()


def stream_fetch(t: Transport, tmp: Path, body: bytes) -> bytes:
    fetcher = HttpFetcher(f"{API}/assets/a1/download/", t, max_workers=0)
    try:
        return fetcher.fetch([ByteRange(0, len(body))])[0]
    finally:
        fetcher.close()


def zarr_download(t: Transport, tmp: Path, body: bytes) -> bytes:
    download_zarr(t, zarr_id=ZARR, dest=tmp / "z", jobs=1)
    return (tmp / "z" / KEY).read_bytes()


def read_index(t: Transport, tmp: Path, body: bytes) -> bytes:
    return json.dumps(reading.load_index(f"{API}/assets/a1/index/", transport=t)).encode()


Caller = Callable[[Transport, Path, bytes], bytes]
CALLERS: dict[str, tuple[Caller, bytes]] = {
    "ranged download": (ranged_download, b"blob bytes, downloaded"),
    "stream fetch": (stream_fetch, b"blob bytes, streamed"),
    "zarr download": (zarr_download, b"\x00\x01\x02\x03"),
    "reading an index": (read_index, json.dumps(INDEX).encode()),
}


@pytest.mark.parametrize("name", list(CALLERS))
def test_the_token_stays_on_the_api_origin(name: str, tmp_path: Path) -> None:
    caller, body = CALLERS[name]
    world = World(body)
    with transport(world) as t:
        assert caller(t, tmp_path, body) == body
    chain = world.chain()
    hosts = [r.url.host for r in chain]
    # The zarr download's first request only finds the key URLs' base (its first hop).
    assert hosts[-3:] == ["api.example.org", "bucket.example", "api.example.org"]
    tokens = [r.headers.get("authorization") for r in chain]
    starts = [i for i, r in enumerate(chain) if not r.url.path.startswith(("/b/", "/again/"))]
    assert [tokens[i] for i in starts] == [f"token {TOKEN}"] * len(starts)
    # Never at the bucket, and not back on the API's origin after the bucket either.
    assert all(tokens[i] is None for i in range(len(chain)) if i not in starts)


@pytest.mark.parametrize("name", list(CALLERS))
def test_the_hop_limit_is_the_same_everywhere(name: str, tmp_path: Path) -> None:
    caller, body = CALLERS[name]
    world = World(body, loop=True)
    with (
        transport(world) as t,
        pytest.raises((RemoteError, DownloadFailed), match="too many redirects from") as info,
    ):
        caller(t, tmp_path, body)
    assert getattr(info.value, "status_code", 0) == 0  # no usable answer
    gets = [r for r in world.chain() if r.method == "GET"]
    # One chain: its first request and MAX_REDIRECTS hops; before it, the Zarr download's
    # GET that finds the first hop (the file download's is a HEAD).
    probe = 1 if name == "zarr download" else 0
    assert len(gets) == probe + MAX_REDIRECTS + 1


def test_discovery_follows_redirects_through_the_one_follower() -> None:
    world = World(json.dumps(server_info()).encode())
    found = discover(ROOT, transport=httpx.MockTransport(world))
    assert found.api_url == API
    hosts = [r.url.host for r in world.seen]
    assert hosts == ["api.example.org", "bucket.example", "api.example.org"]
    assert world.seen[0].url.path == "/server-info"
    assert all("authorization" not in r.headers for r in world.seen)  # discovery has none


def test_discovery_enforces_the_hop_limit() -> None:
    world = World(b"", loop=True)
    with pytest.raises(RemoteError, match="too many redirects") as info:
        discover(ROOT, transport=httpx.MockTransport(world))
    assert info.value.status_code == 0
    assert len(world.seen) == MAX_REDIRECTS + 1


def test_an_archive_discovers_through_its_own_transport(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/server-info":
            return httpx.Response(302, headers={"location": "/api/info/"})
        if request.url.path == "/api/info/":
            return httpx.Response(200, json=server_info())
        return httpx.Response(200, json={"identifier": "000001"})

    registry = Registry(tmp_path / "config", env={})
    archive = Archive(
        "https://archive.invalid/dandiset/000001",
        TOKEN,
        registry=registry,
        transport=httpx.MockTransport(handler),
    )
    # The server's info names its API, which the archive then talks to (token included).
    assert archive.instance.api_url == API
    assert [r.url.path for r in seen] == [
        "/dandiset/000001/server-info",
        "/dandiset/000001/api/info/",
        "/server-info",
        "/api/info/",
    ]
    assert all("authorization" not in r.headers for r in seen)
    assert archive.transport.get_json("dandisets/000001/") == {"identifier": "000001"}
    assert seen[-1].headers["authorization"] == f"token {TOKEN}"
    archive.close()


def test_a_non_object_answer_has_no_made_up_status(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/server-info":
            return httpx.Response(200, json=server_info())
        return httpx.Response(200, json=["not", "an", "object"])

    registry = Registry(tmp_path / "config", env={})
    archive = Archive(API, TOKEN, registry=registry, transport=httpx.MockTransport(handler))
    with pytest.raises(RemoteError, match="did not return an object") as info:
        archive.dandiset("000001")
    assert info.value.status_code == 0
    archive.close()


def test_unusable_server_info_has_no_made_up_status() -> None:
    info = {"services": {"api": {"url": "ftp://nowhere"}}}
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json=info))
    with pytest.raises(RemoteError, match="unusable URLs") as err:
        discover(ROOT, transport=mock)
    assert err.value.status_code == 0
