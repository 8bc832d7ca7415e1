"""The API's reads of an embargoed Zarr by a review link's reader (issue 16).

``GET /api/zarr/{id}/files/?prefix=<key>&download=true`` of an embargoed Zarr answers with a
signed, expiring URL of the file's object (a redirect to the key URL ``/zarr/<id>/<key>``
would drop the reader's ``?review=``); an open Zarr's still goes to its key URL. The key URL
reads a review link's token from the ``X-Neuropil-Review`` header too, for readers that
append keys to a base URL (``neuropil.open_zarr``: ``tests/client/test_zarr_review.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from neuropil.core.review_links import REVIEW_HEADER
from tests.api.embargo_helpers import link_client, review_zarrs
from tests.api.helpers import client
from tests.conftest import Archive
from tests.support.zarrs import local_files, make_zarr

#: Who may read is decided in Python (``services.visibility``), the same on both backends.
pytestmark = pytest.mark.backends("sqlite")

CHUNK = "data/0.0"


@dataclass
class Zarrs:
    """alice's embargoed Zarr and open Zarr (the same files), and a review link of the
    embargoed one."""

    archive: Archive
    files: dict[str, bytes]
    secret: str
    public: str
    token: str

    def key_url(self, zarr_id: str, key: str) -> str:
        return f"{self.archive.url}/zarr/{zarr_id}/{key}"


@pytest.fixture(scope="module")
def zarrs(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zarrs]:
    folder = make_zarr(tmp_path_factory.mktemp("zarr") / "sample.zarr")
    secret, public, token = review_zarrs(archive, folder, "review a Zarr")
    yield Zarrs(archive, local_files(folder), secret, public, token)


def download(c: httpx.Client, zarr_id: str, key: str) -> httpx.Response:
    return c.get(f"zarr/{zarr_id}/files/", params={"prefix": key, "download": "true"})


def follow(r: httpx.Response) -> httpx.Response:
    """Follow a redirect as a script does, with no credentials at all."""
    assert r.status_code == 302, r.text[:300]
    return httpx.get(r.headers["location"], timeout=60.0)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_review_link_downloads_an_embargoed_zarrs_files(zarrs: Zarrs) -> None:
    with link_client(zarrs.archive, zarrs.token) as reviewer:
        for key in (".zattrs", CHUNK):
            r = download(reviewer, zarrs.secret, key)
            location = r.headers["location"]
            # A signed URL of the object, not the key URL (it would need the token).
            assert "/store/" in location and "X-Np-Signature" in location
            assert zarrs.token not in location
            got = follow(r)
            assert got.status_code == 200, got.text[:300]
            assert got.content == zarrs.files[key]
        # Metadata documents are JSON, shown in place; other files are attachments.
        metadata = follow(download(reviewer, zarrs.secret, ".zattrs"))
        assert metadata.headers["content-type"] == "application/json"
        assert metadata.headers["content-disposition"].startswith("inline;")
        chunk = follow(download(reviewer, zarrs.secret, CHUNK))
        assert chunk.headers["content-disposition"].startswith("attachment;")
        # HEAD is answered as GET.
        head = reviewer.head(
            f"zarr/{zarrs.secret}/files/", params={"prefix": CHUNK, "download": "true"}
        )
        assert head.status_code == 302 and "X-Np-Signature" in head.headers["location"]
        assert download(reviewer, zarrs.secret, "no/such/key").status_code == 404


def test_the_signed_url_is_short_lived_and_cannot_be_changed(zarrs: Zarrs) -> None:
    with link_client(zarrs.archive, zarrs.token) as reviewer:
        location = download(reviewer, zarrs.secret, CHUNK).headers["location"]
    expires = int(dict(parse_qsl(urlsplit(location).query))["X-Np-Expires"])
    assert time.time() < expires <= time.time() + 3600 + 60
    assert httpx.get(location, timeout=60.0).status_code == 200
    refused = [
        with_query(location, **{"X-Np-Expires": str(expires + 86400)}),  # later
        with_query(location, **{"X-Np-Expires": str(int(time.time()) - 1)}),  # expired
        with_query(location, **{"X-Np-Signature": "0" * 64}),
        location.replace(f"/{CHUNK}?", "/data/0.1?"),  # another file
        location.partition("?")[0],  # unsigned
    ]
    for url in refused:
        r = httpx.get(url, timeout=60.0)
        assert r.status_code == 404, (url, r.status_code)
        assert r.content != zarrs.files[CHUNK]


def test_others_are_refused(zarrs: Zarrs, bob: httpx.Client, anon: httpx.Client) -> None:
    for c, status in ((anon, 401), (bob, 403)):
        r = download(c, zarrs.secret, CHUNK)
        assert r.status_code == status, r.text[:300]
        assert "location" not in r.headers
    # A review link opens its own dandiset only: an unknown token is refused outright.
    with link_client(zarrs.archive, "not-a-token") as forged:
        assert download(forged, zarrs.secret, CHUNK).status_code == 401


def test_an_open_zarr_still_redirects_to_its_key_url(zarrs: Zarrs, anon: httpx.Client) -> None:
    r = download(anon, zarrs.public, CHUNK)
    assert r.headers["location"] == zarrs.key_url(zarrs.public, CHUNK)
    assert follow(r).content == zarrs.files[CHUNK]


def test_the_key_url_reads_the_review_header(zarrs: Zarrs) -> None:
    url = zarrs.key_url(zarrs.secret, CHUNK)
    got = httpx.get(url, headers={REVIEW_HEADER: zarrs.token}, timeout=60.0)
    assert got.status_code == 200, got.text[:300]
    assert got.content == zarrs.files[CHUNK]
    # The URL is the one anonymous readers ask: no shared cache may keep this answer.
    assert REVIEW_HEADER.lower() in got.headers["vary"].lower()
    assert got.headers["cache-control"] == "private"
    assert httpx.get(url, timeout=60.0).status_code == 401
    bad = httpx.get(url, headers={REVIEW_HEADER: "not-a-token"}, timeout=60.0)
    assert bad.status_code == 401
    # ``?review=`` as before; Range as for any reader.
    ranged = httpx.get(url, params={"review": zarrs.token}, headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == zarrs.files[CHUNK][:4]
    # An open Zarr's answer to anyone is not marked private.
    public = httpx.get(zarrs.key_url(zarrs.public, CHUNK), timeout=60.0)
    assert public.status_code == 200 and "cache-control" not in public.headers


def test_the_review_header_works_on_any_api_read(zarrs: Zarrs) -> None:
    with client(zarrs.archive.api_url) as c:
        c.headers[REVIEW_HEADER] = zarrs.token
        assert c.get(f"zarr/{zarrs.secret}/").status_code == 200
        listed = c.get(f"zarr/{zarrs.secret}/files/", params={"prefix": "data/"})
        assert listed.status_code == 200
        assert CHUNK in {f["Key"] for f in listed.json()["results"]}
        assert follow(download(c, zarrs.secret, CHUNK)).content == zarrs.files[CHUNK]
        # Still read only.
        r = c.post(f"zarr/{zarrs.secret}/finalize/")
        assert r.status_code == 403, r.text[:300]
