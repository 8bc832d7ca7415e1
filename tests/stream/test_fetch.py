"""HttpFetcher against a real server behind a misbehaving proxy."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from neuropil.core.ranges import ByteRange
from neuropil.errors import BlobChanged, RangeNotSupported, RemoteError, StreamError
from neuropil.http.transport import Transport
from neuropil.stream.fetch import BlobIdentity, HttpFetcher, IndexServed, plan
from tests.index.test_server_index import wait_built
from tests.stream.conftest import BLOB_SIZE, MiB, Site
from tests.stream.faults import StreamProxy

KiB = 1 << 10


def R(start: int, stop: int) -> ByteRange:
    return ByteRange(start, stop)


def test_plan_merges_near_ranges_and_splits_long_runs() -> None:
    ranges = [R(300, 400), R(0, 100), R(100, 200), R(200 * KiB, 201 * KiB), R(50, 60)]
    assert plan(ranges, max_gap=64 * KiB, split_min=8 * MiB, split_size=4 * MiB) == [
        R(0, 400),
        R(200 * KiB, 201 * KiB),
    ]
    assert plan([R(0, 9 * MiB)], max_gap=0, split_min=8 * MiB, split_size=4 * MiB) == [
        R(0, 4 * MiB),
        R(4 * MiB, 8 * MiB),
        R(8 * MiB, 9 * MiB),
    ]
    assert plan([R(5, 5)], max_gap=0, split_min=1, split_size=1) == []


def local(site: Site, name: str, r: ByteRange) -> bytes:
    with site.local[name].open("rb") as f:
        f.seek(r.start)
        return f.read(r.length)


def test_size_and_etag_come_from_the_first_ranged_get_not_head(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    proxy.refuse_head = True
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    want = [R(10, 20), R(BLOB_SIZE - 5, BLOB_SIZE + 100)]  # the second runs past the end
    assert fetcher.fetch(want) == [
        local(site, "blob.bin", R(10, 20)),
        local(site, "blob.bin", R(BLOB_SIZE - 5, BLOB_SIZE)),
    ]
    assert fetcher.identity is not None and fetcher.identity.size == BLOB_SIZE
    assert fetcher.identity.etag and fetcher.identity.etag.endswith('-1"')
    assert not [s for s in proxy.requests if s.method == "HEAD"]
    # One redirect, then every range goes to the blob URL directly.
    assert [s.status for s in proxy.requests] == [302, 206, 206]
    fetcher.fetch([R(0, 1)])
    assert proxy.count("/api/") == 1
    fetcher.close()


def test_near_ranges_share_a_request_and_far_ones_run_concurrently(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    fetcher.fetch([R(0, 1)])
    proxy.reset()
    proxy.delay = 0.3  # long enough for every request to be in flight at once
    far = [R(i * MiB, i * MiB + 1000) for i in range(1, 9)]
    near = [R(i * MiB + 2000, i * MiB + 3000) for i in range(1, 9)]
    got = fetcher.fetch(far + near)
    assert got == [local(site, "blob.bin", r) for r in far + near]
    assert len(proxy.requests) == 8  # each near range joined its far neighbour
    assert proxy.max_in_flight >= 8
    fetcher.close()


def test_a_contiguous_run_is_one_request(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """Runs below ``split_min`` (64 MiB) are not cut: one request per coalesced run."""
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    fetcher.fetch([R(0, 1)])
    proxy.reset()
    chunks = [R(start, min(start + MiB, BLOB_SIZE)) for start in range(0, BLOB_SIZE, MiB)]
    data = site.local["blob.bin"].read_bytes()
    assert fetcher.fetch(chunks) == [data[r.start : r.stop] for r in chunks]
    assert [s.range for s in proxy.requests] == [f"bytes=0-{BLOB_SIZE - 1}"]
    assert fetcher.stats.bytes == BLOB_SIZE + 1
    fetcher.close()


def test_a_very_large_run_can_be_split_into_parallel_pieces(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(
        site.url("blob.bin", proxy), transport, split_min=8 * MiB, split_size=4 * MiB
    )
    fetcher.fetch([R(0, 1)])
    proxy.reset()
    whole = R(0, BLOB_SIZE)
    got: list[tuple[int, bytes]] = []
    assert fetcher.fetch([whole], lambda i, d: got.append((i, d))) == [
        site.local["blob.bin"].read_bytes()
    ]
    assert got == [(0, site.local["blob.bin"].read_bytes())]  # across pieces: once, at the end
    assert {s.range for s in proxy.requests} == {
        f"bytes={i * 4 * MiB}-{min((i + 1) * 4 * MiB, BLOB_SIZE) - 1}" for i in range(4)
    }
    assert fetcher.stats.bytes == BLOB_SIZE + 1
    fetcher.close()


def test_ranges_are_handed_out_while_their_run_still_streams(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    fetcher.fetch([R(0, 1)])
    proxy.reset()
    data = site.local["blob.bin"].read_bytes()
    chunks = [R(start, min(start + MiB, BLOB_SIZE)) for start in range(0, BLOB_SIZE, MiB)]
    chunks.reverse()  # handed out in the order the bytes arrive, whatever the order asked
    seen: list[tuple[int, int]] = []  # (range, body bytes counted when it was handed out)

    def ready(i: int, chunk: bytes) -> None:
        assert chunk == data[chunks[i].start : chunks[i].stop]
        seen.append((i, fetcher.stats.bytes))

    assert fetcher.fetch(chunks, ready) == [data[r.start : r.stop] for r in chunks]
    assert [i for i, _ in seen] == list(reversed(range(len(chunks))))
    # A body's bytes are counted once it is complete: the first ranges came before that.
    assert seen[0][1] == 1
    assert len(proxy.requests) == 1
    fetcher.close()


def test_a_server_ignoring_range_is_an_error_not_data(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    proxy.inject("ignore-range", "/store/", times=10)
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    with pytest.raises(RangeNotSupported, match="does not support Range"):
        fetcher.fetch([R(0, 1000)])
    # The whole object was not read: at most what the proxy pushed before we hung up.
    assert fetcher.stats.bytes == 0
    fetcher.close()


def test_a_small_object_sent_whole_is_accepted(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """A 200 to a range that covers the whole object is the same bytes a 206 would carry."""
    proxy.inject("ignore-range", "/store/", times=10)
    data = site.local["demo.nwb"].read_bytes()
    fetcher = HttpFetcher(site.url("demo.nwb", proxy), transport)
    with pytest.raises(RangeNotSupported):
        fetcher.fetch([R(0, len(data) - 1)])
    assert fetcher.fetch([R(0, len(data) + 10)]) == [data]
    assert fetcher.identity is not None and fetcher.identity.size == len(data)
    fetcher.close()


def test_asking_for_the_index_gets_it_in_place_of_the_first_bytes(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """``ask_index``: a server holding the object's index answers the first ranged GET with
    it (content negotiation); an object without one is read as usual, asked or not."""
    index = f"{site.server.api_url}/assets/{site.asset_ids['demo.nwb']}/index/"
    assert wait_built(index).status_code == 200
    fetcher = HttpFetcher(site.url("demo.nwb", proxy), transport, ask_index=True)
    with pytest.raises(IndexServed) as served:
        fetcher.fetch([R(0, 32 * KiB)])
    assert served.value.url.startswith(f"{proxy.url}/store/")
    assert json.loads(served.value.body)["templates"]["u1"] == served.value.url
    assert fetcher.stats.requests == 2 and fetcher.identity is None  # the redirect, the index
    # It came gzipped (the wire bytes are the proxy's count), handed out decoded.
    assert fetcher.stats.bytes == proxy.bytes_under("/store/") < len(served.value.body) * 0.7
    fetcher.close()
    plain = HttpFetcher(site.url("demo.nwb", proxy), transport)  # not asked: the bytes
    assert plain.fetch([R(0, 8)]) == [site.local["demo.nwb"].read_bytes()[:8]]
    plain.close()
    data = site.local["blob.bin"].read_bytes()
    other = HttpFetcher(site.url("blob.bin", proxy), transport, ask_index=True)
    assert other.fetch([R(0, 100), R(200 * KiB, 200 * KiB + 10)]) == [
        data[:100],
        data[200 * KiB : 200 * KiB + 10],
    ]
    other.close()


class _Streamed(httpx.SyncByteStream):
    """A body httpx has not read yet (``content=`` would be read at once)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body


def test_bytes_gzipped_for_a_request_that_allowed_it_are_asked_for_again() -> None:
    """Only the index may come compressed: a server that gzips the bytes answering the one
    request that allowed it (asking for the index) is asked again, ``identity`` only."""
    data = bytes(range(256)) * 4
    asked: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers["accept-encoding"])
        body, headers = data[:100], {"Content-Range": f"bytes 0-99/{len(data)}", "ETag": '"e"'}
        if request.headers["accept-encoding"] != "identity":
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        headers["Content-Length"] = str(len(body))
        return httpx.Response(206, headers=headers, stream=_Streamed(body))

    with Transport("http://blobs.test/api", transport=httpx.MockTransport(server)) as t:
        fetcher = HttpFetcher("http://blobs.test/store/b", t, ask_index=True)
        assert fetcher.fetch([R(0, 100)]) == [data[:100]]
        fetcher.close()
    assert asked == ["gzip", "identity"]


def test_a_wrong_content_range_is_an_error(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    proxy.inject("bad-content-range", "/store/")
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    with pytest.raises(StreamError, match="answered bytes 1-99 to a request for 0-99"):
        fetcher.fetch([R(0, 100)])
    fetcher.close()


def test_an_etag_change_between_requests_is_an_error(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    fetcher.fetch([R(0, 100)])
    proxy.etag = '"0123456789abcdef0123456789abcdef-1"'
    with pytest.raises(BlobChanged, match="changed while being read"):
        fetcher.fetch([R(100, 200)])
    fetcher.close()


def test_an_identity_from_a_cache_is_checked_by_the_first_answer(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    fetcher.expect(BlobIdentity(BLOB_SIZE, '"not-the-etag"'))
    with pytest.raises(BlobChanged):
        fetcher.fetch([R(0, 100)])
    fetcher.close()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried(
    site: Site, proxy: StreamProxy, transport: Transport, status: int
) -> None:
    if status == 429:
        proxy.inject("429", "/store/", times=1)  # with Retry-After: 1
    else:
        proxy.fail(status, "/store/", times=2)
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    assert fetcher.fetch([R(5, 50)]) == [local(site, "blob.bin", R(5, 50))]
    assert fetcher.stats.retries == (1 if status == 429 else 2)
    fetcher.close()


def test_a_truncated_body_is_retried(site: Site, proxy: StreamProxy, transport: Transport) -> None:
    proxy.inject("truncate", "/store/", times=1, after=1000)
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    want = R(0, 100_000)
    assert fetcher.fetch([want]) == [local(site, "blob.bin", want)]
    assert fetcher.stats.retries == 1
    fetcher.close()


def test_retries_give_up_with_a_remote_error(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    proxy.fail(503, "/store/", times=100)
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    with pytest.raises(RemoteError, match="HTTP 503"):
        fetcher.fetch([R(0, 10)])
    assert fetcher.stats.retries == transport.backoff.attempts - 1
    fetcher.close()


def test_an_expired_blob_url_is_resolved_again(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    fetcher.fetch([R(0, 10)])
    proxy.inject("403", "/store/", times=1)
    assert fetcher.fetch([R(10, 20)]) == [local(site, "blob.bin", R(10, 20))]
    assert [s.status for s in proxy.requests] == [302, 206, 403, 302, 206]
    fetcher.close()


def test_a_missing_object_fails_fast(site: Site, proxy: StreamProxy, transport: Transport) -> None:
    url = f"{proxy.api_url}/assets/00000000-0000-0000-0000-000000000000/download/"
    fetcher = HttpFetcher(url, transport)
    with pytest.raises(RemoteError) as info:
        fetcher.fetch([R(0, 10)])
    assert info.value.status_code == 404
    assert len(proxy.requests) == 1
    fetcher.close()


def test_an_empty_object(site: Site, proxy: StreamProxy, transport: Transport) -> None:
    fetcher = HttpFetcher(site.url("empty.bin", proxy), transport)
    assert fetcher.fetch([R(0, 100)]) == [b""]
    assert fetcher.identity is not None and fetcher.identity.size == 0
    fetcher.close()


def test_without_a_transport_the_fetcher_makes_its_own(site: Site) -> None:
    fetcher = HttpFetcher(site.url("blob.bin"))
    assert fetcher.fetch([R(1, 3)]) == [local(site, "blob.bin", R(1, 3))]
    fetcher.close()


def test_a_url_that_expires_again_and_again_is_renewed_each_time(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    for i in range(6):
        proxy.inject("403", "/store/", times=1)
        assert fetcher.fetch([R(i, i + 1)]) == [local(site, "blob.bin", R(i, i + 1))]
    fetcher.close()


def test_a_blob_url_that_never_works_gives_up(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    proxy.inject("403", "/store/", times=100)
    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport)
    with pytest.raises(RemoteError, match="keeps failing"):
        fetcher.fetch([R(0, 1)])
    assert proxy.count("/store/", 403) == 4  # the first answer, then three renewals
    fetcher.close()


def test_the_token_goes_to_the_api_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.org":
            return httpx.Response(302, headers={"location": "https://bucket.example/b/x"})
        headers = {"content-range": "bytes 0-9/100", "content-length": "10"}
        return httpx.Response(206, headers=headers, stream=httpx.ByteStream(bytes(10)))

    mock = httpx.MockTransport(handler)
    with Transport("https://api.example.org/api", "t0k3n", transport=mock) as t:
        fetcher = HttpFetcher("https://api.example.org/api/assets/x/download/", t)
        other = HttpFetcher("https://elsewhere.example/x", t)
        assert fetcher.fetch([R(0, 10)]) == [bytes(10)]
        assert other.fetch([R(0, 10)]) == [bytes(10)]
        fetcher.close()
        other.close()
    assert [(r.url.host, r.headers.get("authorization")) for r in seen] == [
        ("api.example.org", "token t0k3n"),
        ("bucket.example", None),
        ("elsewhere.example", None),
    ]
    assert seen[0].headers["range"] == "bytes=0-9"


def test_without_workers_requests_go_out_in_turn_from_the_caller(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """RemoteFile's mode: h5py holds its lock while it waits for a read (see RemoteFile)."""
    import threading

    fetcher = HttpFetcher(site.url("blob.bin", proxy), transport, max_workers=0)
    fetcher.fetch([R(0, 1)])
    proxy.reset()
    far = [R(i * MiB, i * MiB + 1000) for i in range(1, 5)]
    threads: set[str] = set()
    got = fetcher.fetch(far, lambda i, d: threads.add(threading.current_thread().name))
    assert got == [local(site, "blob.bin", r) for r in far]
    assert len(proxy.requests) == 4 and proxy.max_in_flight == 1
    assert threads == {threading.current_thread().name}
    fetcher.close()
