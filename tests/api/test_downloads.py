"""Downloads: the API's 302 to the blob URL, and the blob URL's HEAD and byte ranges."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.helpers import (
    MiB,
    client,
    complete,
    create_dandiset,
    etag_of,
    put_parts,
    random_bytes,
    start_upload,
    strip_query,
    upload_asset,
)
from tests.conftest import Archive

SIZE = 3 * MiB + 12345


@dataclass
class Stored:
    identifier: str
    asset: dict[str, Any]
    data: bytes

    @property
    def asset_id(self) -> str:
        return str(self.asset["asset_id"])

    @property
    def blob_url(self) -> str:
        """The anonymous object URL from ``contentUrl`` (what fsspec/remfile read)."""
        return str(self.asset["metadata"]["contentUrl"][1])


@pytest.fixture(scope="module")
def stored(archive: Archive) -> Iterator[Stored]:
    with client(archive.api_url, archive.user_token) as c:
        ident = create_dandiset(c, "downloads")
        data = random_bytes(SIZE)
        asset = upload_asset(
            c, ident, "raw/session one.nwb", data, {"encodingFormat": "application/x-nwb"}
        )
        yield Stored(ident, asset, data)


def test_download_redirects_to_the_blob(stored: Stored, anon: httpx.Client) -> None:
    r = anon.get(f"assets/{stored.asset_id}/download/")
    assert r.status_code == 302
    location = r.headers["location"]
    assert strip_query(location) == stored.blob_url
    query = parse_qs(urlsplit(location).query)
    assert query["response-content-disposition"][0].startswith(
        'attachment; filename="session one.nwb"'
    )
    body = httpx.get(location)
    assert body.status_code == 200
    assert body.content == stored.data
    assert body.headers["content-disposition"].startswith('attachment; filename="session one.nwb"')
    assert int(body.headers["content-length"]) == SIZE


def test_head_on_download_redirects_too(stored: Stored, anon: httpx.Client) -> None:
    r = anon.head(f"assets/{stored.asset_id}/download/")
    assert r.status_code == 302
    assert strip_query(r.headers["location"]) == stored.blob_url
    assert anon.head(f"assets/{stored.asset_id}/download").status_code == 302


def test_nested_download_and_following_redirects(stored: Stored, anon: httpx.Client) -> None:
    url = f"dandisets/{stored.identifier}/versions/draft/assets/{stored.asset_id}/download/"
    r = anon.get(url)
    assert r.status_code == 302
    assert strip_query(r.headers["location"]) == stored.blob_url
    assert anon.get(url, follow_redirects=True).content == stored.data
    assert stored.asset["metadata"]["contentUrl"][0].endswith(
        f"/api/assets/{stored.asset_id}/download/"
    )


def test_inline_disposition(stored: Stored, anon: httpx.Client) -> None:
    # NWB is not on the inline allow-list (neuropil.services.blob_headers): it stays a download.
    r = anon.get(f"assets/{stored.asset_id}/download/", params={"content_disposition": "inline"})
    assert r.status_code == 302
    blob = httpx.head(r.headers["location"])
    assert blob.headers["content-disposition"].startswith('attachment; filename="session one.nwb"')
    assert blob.headers["content-type"] == "application/octet-stream"
    bad = anon.get(f"assets/{stored.asset_id}/download/", params={"content_disposition": "x"})
    assert bad.status_code == 400


def test_head_on_the_blob(stored: Stored) -> None:
    r = httpx.head(stored.blob_url)
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) == SIZE
    assert r.headers["etag"] == f'"{etag_of(stored.data)}"'
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["last-modified"]


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=10-19", 10, 20),
        ("bytes=1048570-1048590", 1048570, 1048591),  # across a read-chunk boundary
        (f"bytes={SIZE - 5}-", SIZE - 5, SIZE),
        (f"bytes=100-{SIZE + 1000}", 100, SIZE),  # clamped to the end
        ("bytes=-100", SIZE - 100, SIZE),  # suffix
        (f"bytes=-{SIZE * 2}", 0, SIZE),  # a suffix longer than the object
    ],
)
def test_ranges(stored: Stored, header: str, start: int, stop: int) -> None:
    r = httpx.get(stored.blob_url, headers={"Range": header})
    assert r.status_code == 206
    assert r.content == stored.data[start:stop]
    assert r.headers["content-range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert int(r.headers["content-length"]) == stop - start
    head = httpx.head(stored.blob_url, headers={"Range": header})
    assert head.status_code == 206
    assert head.headers["content-range"] == r.headers["content-range"]


def test_resume_through_the_api_url(stored: Stored, anon: httpx.Client) -> None:
    # What `dandi download` does to resume: Range on the API URL, following the redirect.
    r = anon.get(
        f"assets/{stored.asset_id}/download/",
        headers={"Range": f"bytes={SIZE - 1000}-"},
        follow_redirects=True,
    )
    assert r.status_code == 206
    assert r.content == stored.data[-1000:]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(stored: Stored, header: str) -> None:
    r = httpx.get(stored.blob_url, headers={"Range": header})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=5-2", "items=0-5", "bytes=0-1,5-6", "bytes=x-y"])
def test_ranges_that_are_ignored(stored: Stored, header: str) -> None:
    r = httpx.get(stored.blob_url, headers={"Range": header})
    assert r.status_code == 200
    assert len(r.content) == SIZE


def test_if_none_match(stored: Stored) -> None:
    etag = httpx.head(stored.blob_url).headers["etag"]
    r = httpx.get(stored.blob_url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""


def test_unvalidated_upload_is_not_served(
    archive: Archive, alice: httpx.Client, dandiset: str
) -> None:
    data = random_bytes(1000)
    upload = start_upload(alice, dandiset, data)
    assert complete(alice, upload, put_parts(upload)).status_code == 200
    # The object exists in the store now, but no blob is registered yet.
    url = strip_query(upload.parts[0]["upload_url"])
    assert httpx.get(url).status_code == 404
    assert httpx.head(url).status_code == 404
    assert httpx.get(url, headers={"Range": "bytes=0-10"}).status_code == 404
    assert alice.post(f"uploads/{upload.upload_id}/validate/").status_code == 200
    r = httpx.get(url)
    assert r.status_code == 200
    assert r.content == data


def test_unknown_objects_are_404(archive: Archive) -> None:
    assert httpx.get(f"{archive.url}/store/blobs/000/000/nothing").status_code == 404
    # Only registered blobs are served, so no key reaches outside the store.
    traversal = f"{archive.url}/store/blobs/%2e%2e/%2e%2e/%2e%2e/secret.key"
    assert httpx.get(traversal).status_code == 404
    assert httpx.put(f"{archive.url}/store/blobs/a/b/c", content=b"x").status_code == 405


def test_non_ascii_file_names(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    data = random_bytes(100)
    asset = upload_asset(alice, dandiset, "données/日本 é.nwb", data)
    r = anon.get(f"assets/{asset['asset_id']}/download/")
    assert r.status_code == 302
    blob = httpx.get(r.headers["location"])
    assert blob.status_code == 200
    assert blob.content == data
    disposition = blob.headers["content-disposition"]
    assert disposition.isascii()
    assert disposition.startswith('attachment; filename="__ e.nwb"')
    assert disposition.endswith("filename*=UTF-8''%E6%97%A5%E6%9C%AC%20%C3%A9.nwb")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("response-content-disposition", "attachment\r\nX-Injected: 1"),
        ("response-content-disposition", 'attachment; filename="日本"'),
        ("response-content-type", "text/plain\nX-Injected: 1"),
    ],
)
def test_response_headers_from_the_query_are_checked(stored: Stored, name: str, value: str) -> None:
    r = httpx.get(stored.blob_url, params={name: value})
    assert r.status_code == 400
    assert "X-Injected" not in r.headers
    assert name in r.json()
    # Well-formed but unsigned: only the download endpoint's signed URLs may ask for headers.
    unsigned = httpx.head(stored.blob_url, params={"response-content-type": "text/plain"})
    assert unsigned.status_code == 403
