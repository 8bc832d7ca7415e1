"""Every URL a user holds for an asset opens through the server's index in one request, and
the server advertises the index in a ``Link`` header (``neuropil.core.links``) on the asset's
metadata, its download redirect and its blob's bytes.

One real server (SQLite) behind a loopback proxy that keeps the ``Host`` header and counts
requests; the demo NWB file is uploaded once (to an open and to an embargoed dandiset) and
its index built before the tests run. The counts are the table of
``docs/design/streaming.md`` ("Any URL opens through the index").
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import h5py
import httpx
import numpy as np
import pytest

import neuropil
from neuropil.client.instances import Registry
from neuropil.client.upload_files import upload_file
from neuropil.core.links import ACCEPT_INDEX, INDEX_MEDIA_TYPE, find_index_link, index_link
from neuropil.core.signing import SIGNATURE_PARAM
from neuropil.demo import make_nwb_files
from neuropil.errors import NotFound, UsageError
from neuropil.http.transport import Transport
from neuropil.index import IndexFile
from neuropil.reading import RemoteHdf5File
from tests.api.helpers import wait_for
from tests.api.publishing import DANDISET_METADATA, publish_and_wait, wait_until_valid
from tests.index.test_server_index import wait_built
from tests.stream.faults import StreamProxy, running_proxy
from tests.support.client_env import isolate_client
from tests.support.server import ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

SERIES = "acquisition/ElectricalSeries/data"
PATH = "sub-01/sub-01_ses-1_ecephys.nwb"
NWB_METADATA = {"schemaKey": "Asset", "encodingFormat": "application/x-nwb"}


@dataclass
class Site:
    server: ServerProcess
    proxy: StreamProxy
    token: str
    local: Path
    other_local: Path  # a second NWB file (another blob)
    dandiset: str
    asset_id: str
    blob_id: str
    other_id: str  # a non-HDF5 asset
    secret: str  # an embargoed dandiset holding a third file (an embargoed blob) at PATH
    secret_asset_id: str
    secret_local: Path

    @property
    def api(self) -> str:
        return self.proxy.api_url

    def owner(self) -> httpx.Client:
        """The owner's client, on the proxy's API."""
        headers = {"Authorization": f"token {self.token}"}
        return httpx.Client(base_url=f"{self.api}/", headers=headers, timeout=30)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("open-any-url")
    nwb, other_nwb = make_nwb_files(tmp / "nwb")
    secret_nwb = make_nwb_files(tmp / "secret", seed=1)[0]
    text = tmp / "notes.txt"
    text.write_text("not HDF5\n")
    server = ServerProcess(tmp / "data")
    token = server.add_user("owner", admin=True)
    with server, running_proxy(server.url) as proxy, Transport(server.api_url, token) as t:
        did = t.post_json("dandisets/", {"name": "any url", "metadata": {}})["identifier"]
        asset = upload_file(t, dandiset_id=did, path=nwb, asset_path=PATH)
        other = upload_file(t, dandiset_id=did, path=text, asset_path="notes.txt")
        secret = t.post_json(
            "dandisets/", {"name": "secret", "metadata": {}}, params={"embargo": "true"}
        )["identifier"]
        hidden = upload_file(t, dandiset_id=secret, path=secret_nwb, asset_path=PATH)
        built = wait_built(f"{server.api_url}/assets/{asset['asset_id']}/index/")
        assert built.status_code == 200, built.text
        yield Site(
            server,
            proxy,
            token,
            nwb,
            other_nwb,
            did,
            asset["asset_id"],
            asset["blob"],
            other["asset_id"],
            secret,
            hidden["asset_id"],
            secret_nwb,
        )


@pytest.fixture
def lab(site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The proxied server as a configured instance ``lab`` (no discovery request)."""
    isolate_client(monkeypatch, tmp_path / "config")
    Registry().add("lab", site.api, site.proxy.url)
    return "lab"


def _blob_urls(site: Site) -> tuple[str, str]:
    """(the signed URL the download redirects to, the unsigned ``contentUrl`` one)."""
    answer = httpx.get(f"{site.api}/assets/{site.asset_id}/download/")
    assert answer.status_code == 302
    md = httpx.get(f"{site.api}/assets/{site.asset_id}/").json()
    return str(httpx.URL(site.proxy.url).join(answer.headers["location"])), md["contentUrl"][1]


def _opens_through_the_index(site: Site, url: str, local: Path | None = None) -> int:
    """Open ``url`` with pynwb, check it came through the index and reads like h5py does
    locally; return how many requests opening took."""
    site.proxy.reset()
    nwbfile = neuropil.open_nwb(url)
    try:
        opened = len(site.proxy.requests)
        assert isinstance(nwbfile.read_io._file, IndexFile), url
        with h5py.File(local or site.local) as h5:
            assert nwbfile.identifier == h5["identifier"][()].decode()
            got = nwbfile.acquisition["ElectricalSeries"].data[100:900, 3:9]
            np.testing.assert_array_equal(got, h5[SERIES][100:900, 3:9])
    finally:
        nwbfile.read_io.close()
    return opened


def _forms(site: Site, lab: str) -> dict[str, tuple[str, str]]:
    """Each URL form of the asset: (the URL, the path its one request asks for)."""
    asset_index = f"/api/assets/{site.asset_id}/index/"
    nested = f"{site.api}/dandisets/{site.dandiset}/versions/draft/assets/{site.asset_id}/"
    signed, unsigned = _blob_urls(site)
    location = quote(PATH, safe="/")
    by_path = f"/api/dandisets/{site.dandiset}/versions/draft/index/"
    return {
        "API asset (metadata)": (f"{site.api}/assets/{site.asset_id}/", asset_index),
        "API download": (f"{site.api}/assets/{site.asset_id}/download/", asset_index),
        "API info": (f"{site.api}/assets/{site.asset_id}/info/", asset_index),
        "nested asset": (nested, asset_index),
        "nested download": (f"{nested}download/", asset_index),
        "blob, signed (the download's redirect)": (signed, httpx.URL(signed).path),
        "blob, unsigned (contentUrl)": (unsigned, httpx.URL(unsigned).path),
        "web file": (
            f"{site.proxy.url}/dandiset/{site.dandiset}/draft/files?location={location}",
            by_path,
        ),
        "API listing ?path=": (
            f"{site.api}/dandisets/{site.dandiset}/versions/draft/assets/?path={location}",
            by_path,
        ),
        "dandi://": (f"dandi://{lab}/{site.dandiset}@draft/{PATH}", by_path),
        "NAME:": (f"{lab.upper()}:{site.dandiset}/draft/{PATH}", by_path),
        "dandi://, no version": (
            f"dandi://{lab}/{site.dandiset}/{PATH}",
            f"/api/dandisets/{site.dandiset}/index/",
        ),
    }


FORMS = [
    "API asset (metadata)",
    "API download",
    "API info",
    "nested asset",
    "nested download",
    "blob, signed (the download's redirect)",
    "blob, unsigned (contentUrl)",
    "web file",
    "API listing ?path=",
    "dandi://",
    "NAME:",
    "dandi://, no version",
]


@pytest.mark.parametrize("form", FORMS)
def test_every_url_form_opens_in_one_request(site: Site, lab: str, form: str) -> None:
    url, asked = _forms(site, lab)[form]
    assert _opens_through_the_index(site, url) == 1, url
    first = site.proxy.requests[0]
    assert first.path.split("?")[0] == asked and first.status == 200, first


def test_the_forms_are_all_tested(site: Site, lab: str) -> None:
    assert sorted(_forms(site, lab)) == sorted(FORMS)


def test_the_index_of_the_asset_at_a_path(site: Site) -> None:
    at = f"{site.api}/dandisets/{site.dandiset}/versions/draft/index/"
    by_id = httpx.get(f"{site.api}/assets/{site.asset_id}/index/")
    for url in (at, f"{site.api}/dandisets/{site.dandiset}/index/"):
        r = httpx.get(url, params={"path": PATH})
        assert r.status_code == 200, r.text
        assert r.headers["content-location"] == f"{site.api}/assets/{site.asset_id}/index/"
        assert r.headers["x-neuropil-index-status"] == "built"
        assert r.json() == by_id.json() and r.headers["etag"] == by_id.headers["etag"]
        again = httpx.get(url, params={"path": PATH}, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304
    # A web ?location= ends in "/": the same file.
    assert httpx.get(at, params={"path": f"{PATH}/"}).status_code == 200
    missing = httpx.get(at, params={"path": "sub-01"})  # a folder is no file
    assert missing.status_code == 404 and "No asset at 'sub-01'" in missing.text
    assert httpx.get(at).status_code == 400
    text = httpx.get(at, params={"path": "notes.txt"})
    assert text.status_code == 404 and text.headers["x-neuropil-index-status"] == "not-hdf5"
    elsewhere = f"{site.api}/dandisets/{site.dandiset}/versions/0.1.2/index/"
    assert httpx.get(elsewhere, params={"path": PATH}).status_code == 404


def test_the_blob_answers_the_index_to_a_reader_that_asks(site: Site) -> None:
    signed, unsigned = _blob_urls(site)
    asset_index = httpx.get(f"{site.api}/assets/{site.asset_id}/index/").json()
    with httpx.Client(follow_redirects=False) as c:
        for url in (signed, unsigned):
            asks = {"Range": "bytes=0-32767", "Accept": ACCEPT_INDEX}
            r = c.get(url, headers=asks)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == INDEX_MEDIA_TYPE
            assert "Accept" in r.headers["vary"] and r.headers["x-content-type-options"]
            doc = r.json()
            assert doc["refs"] == asset_index["refs"]
            assert doc["templates"]["u1"] == url  # chunks are read where the reader asked
            unchanged = c.get(url, headers={**asks, "If-None-Match": r.headers["etag"]})
            assert unchanged.status_code == 304
            # Anyone else gets the bytes, told that the answer varies.
            for accept in ("*/*", "text/html,*/*;q=0.8"):
                plain = c.get(url, headers={"Range": "bytes=0-7", "Accept": accept})
                assert plain.status_code == 206 and plain.content == b"\x89HDF\r\n\x1a\n"
                assert plain.headers["vary"] == "Accept"
            head = c.head(url, headers=asks)
            assert head.status_code == 206 and head.headers["content-length"] == "32768"
        # A file without an index answers its bytes, whatever is asked.
        other = c.get(f"{site.api}/assets/{site.other_id}/download/").headers["location"]
        blob = c.get(str(httpx.URL(site.proxy.url).join(other)), headers={"Accept": ACCEPT_INDEX})
        assert blob.status_code == 200 and blob.content == b"not HDF5\n"
        assert "vary" not in blob.headers


def test_the_index_a_blob_url_answers_is_gzipped_when_accepted(site: Site) -> None:
    """The negotiated index honours ``Accept-Encoding`` as the index routes do: gzip when
    asked (a validator of its own), plain otherwise, the same document; caches are told
    that the answer varies with both headers."""
    signed, _ = _blob_urls(site)
    asks = {"Range": "bytes=0-32767", "Accept": ACCEPT_INDEX}
    with httpx.Client() as c:
        plain = c.get(signed, headers={**asks, "Accept-Encoding": "identity"})
        with c.stream("GET", signed, headers={**asks, "Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
        assert plain.status_code == zipped.status_code == 200, plain.text
        assert "content-encoding" not in plain.headers
        assert zipped.headers["content-encoding"] == "gzip"
        assert gzip.decompress(raw) == plain.content and plain.json()["refs"]
        assert len(raw) < len(plain.content) * 0.7  # mostly base64 inline data
        for r in (plain, zipped):
            assert r.headers["content-type"] == INDEX_MEDIA_TYPE
            vary = {v.strip() for v in r.headers["vary"].split(",")}
            assert vary == {"Accept", "Accept-Encoding"}
        assert plain.headers["etag"] != zipped.headers["etag"]  # strong: exact bytes
        for r in (plain, zipped):
            again = c.get(signed, headers={**asks, "If-None-Match": r.headers["etag"]})
            assert again.status_code == 304 and "Accept-Encoding" in again.headers["vary"]


def test_a_server_without_the_path_route_costs_the_way_round(site: Site, lab: str) -> None:
    """A DANDI-API server without ``…/index/?path=`` (404), or a file whose index is not
    built yet (503): the listing finds the asset, then the asset's own way is taken."""
    url = f"dandi://{lab}/{site.dandiset}@draft/{PATH}"
    for status in (404, 503):
        site.proxy.fail(status, r"/versions/draft/index/\?path=")
        assert _opens_through_the_index(site, url) == 3, status
        route, listing, index = (s.path.split("?")[0] for s in site.proxy.requests[:3])
        assert route.endswith("/versions/draft/index/") and listing.endswith("/assets/")
        assert index == f"/api/assets/{site.asset_id}/index/"


def test_the_default_version_is_the_latest_published(site: Site, lab: str) -> None:
    with Transport(site.server.api_url, site.token) as t:
        did = t.post_json("dandisets/", {"name": "pub", "metadata": DANDISET_METADATA})[
            "identifier"
        ]
        upload_file(t, dandiset_id=did, path=site.local, asset_path=PATH, metadata=NWB_METADATA)
        with site.owner() as c:
            wait_until_valid(c, did)
            publish_and_wait(c, did)
        # The draft moves on: another file at the same path.
        newer = upload_file(
            t, dandiset_id=did, path=site.other_local, asset_path=PATH, metadata=NWB_METADATA
        )
    assert wait_built(f"{site.server.api_url}/assets/{newer['asset_id']}/index/").is_success
    assert _opens_through_the_index(site, f"dandi://{lab}/{did}/{PATH}") == 1
    assert _opens_through_the_index(site, f"dandi://{lab}/{did}@draft/{PATH}", site.other_local)


def test_an_embargoed_file_opens_by_path_with_a_token(
    site: Site, lab: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"dandi://{lab}/{site.secret}@draft/{PATH}"
    with pytest.raises(NotFound):  # anonymous: the way round says what is wrong
        neuropil.open(url)
    monkeypatch.setenv("NEUROPIL_API_KEY", site.token)
    secret_index = f"{site.server.api_url}/assets/{site.secret_asset_id}/index/"
    wait_for(
        lambda: (
            httpx.get(secret_index, headers={"Authorization": f"token {site.token}"}).status_code
            == 200
        ),
        timeout=20,
        every=0.1,
    )
    assert _opens_through_the_index(site, url, site.secret_local) == 1
    # Its chunks were read through a signed blob URL (an embargoed blob has no other).
    (chunks,) = site.proxy.requests[1:]
    assert chunks.path.startswith("/store/") and SIGNATURE_PARAM in chunks.path, chunks
    # The signed URL its download redirects to opens in one request too.
    with site.owner() as c:
        download = c.get(f"assets/{site.secret_asset_id}/download/")
    signed = str(httpx.URL(site.proxy.url).join(download.headers["location"]))
    assert _opens_through_the_index(site, signed, site.secret_local) == 1


def test_path_urls_that_name_no_single_file_say_so(site: Site, lab: str) -> None:
    with pytest.raises(UsageError, match="a whole Dandiset, not one file"):
        neuropil.open(f"dandi://{lab}/{site.dandiset}@draft")
    with pytest.raises(NotFound, match="no asset at 'sub-01'"):
        neuropil.open(f"dandi://{lab}/{site.dandiset}@draft/sub-01/")


def test_index_false_reads_the_file_itself(site: Site, lab: str) -> None:
    signed, _ = _blob_urls(site)
    for url in (
        f"{site.api}/assets/{site.asset_id}/",
        signed,
        f"dandi://{lab}/{site.dandiset}@draft/{PATH}",
    ):
        site.proxy.reset()
        with neuropil.open(url, index=False) as f:
            assert isinstance(f, RemoteHdf5File)
        assert not any("/index/" in s.path for s in site.proxy.requests), url
        assert all(s.status == 206 for s in site.proxy.ranged() if "/store/" in s.path), url


def test_the_server_advertises_the_index(site: Site) -> None:
    index = f"{site.api}/assets/{site.asset_id}/index/"
    header = index_link(index)
    assert header == f'<{index}>; rel="describedby"; type="{INDEX_MEDIA_TYPE}"'
    nested = f"{site.api}/dandisets/{site.dandiset}/versions/draft/assets/{site.asset_id}/"
    with httpx.Client(follow_redirects=False) as c:
        for url in (f"{site.api}/assets/{site.asset_id}/", f"{nested}info/", nested):
            assert c.get(url).headers["link"] == header, url
        download = c.get(f"{site.api}/assets/{site.asset_id}/download/")
        assert download.status_code == 302 and download.headers["link"] == header
        # The blob: its own index endpoint (no asset needed); a signed URL stays valid.
        signed = str(httpx.URL(site.proxy.url).join(download.headers["location"]))
        for method in ("GET", "HEAD"):
            blob = c.request(method, signed, headers={"Range": "bytes=0-9"})
            assert blob.status_code == 206, blob.text
            found = find_index_link(blob.headers["link"], signed)
            assert found == f"{site.api}/blobs/{site.blob_id}/index/"
        served = c.get(found)
        assert served.status_code == 200 and served.json()["refs"]
        assert served.json() == c.get(index).json()  # one index per blob
        # A file without an index advertises none.
        other = c.get(f"{site.api}/assets/{site.other_id}/download/")
        assert "link" not in other.headers
        blob = c.get(str(httpx.URL(site.proxy.url).join(other.headers["location"])))
        assert blob.status_code == 200 and "link" not in blob.headers


def test_the_blob_index_endpoint_serves_only_visible_blobs(site: Site) -> None:
    missing = httpx.get(f"{site.api}/blobs/00000000-0000-4000-8000-000000000000/index/")
    assert missing.status_code == 404
    weird = httpx.get(f"{site.api}/blobs/..%2F..%2Fetc/index/")
    assert weird.status_code == 404
