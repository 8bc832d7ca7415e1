"""Every URL a user holds for an asset opens through the server's index, and the server
advertises the index in a ``Link`` header (``neuropil.core.links``) on the asset's metadata,
its download redirect and its blob's bytes.

One real server (SQLite) behind a loopback proxy that keeps the ``Host`` header and counts
requests; the demo NWB file is uploaded once and its index built before the tests run.
"""

from __future__ import annotations

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
from neuropil.core.links import INDEX_MEDIA_TYPE, find_index_link, index_link
from neuropil.core.signing import SIGNATURE_PARAM
from neuropil.demo import make_nwb_files
from neuropil.errors import NotFound, UsageError
from neuropil.http.transport import Transport
from neuropil.index import IndexFile
from neuropil.reading import RemoteHdf5File
from tests.index.test_server_index import wait_built
from tests.stream.faults import StreamProxy, running_proxy
from tests.support.client_env import isolate_client
from tests.support.server import ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

SERIES = "acquisition/ElectricalSeries/data"
PATH = "sub-01/sub-01_ses-1_ecephys.nwb"


@dataclass
class Site:
    server: ServerProcess
    proxy: StreamProxy
    local: Path
    dandiset: str
    asset_id: str
    blob_id: str
    other_id: str  # a non-HDF5 asset

    @property
    def api(self) -> str:
        return self.proxy.api_url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("open-any-url")
    nwb = make_nwb_files(tmp / "nwb")[0]
    text = tmp / "notes.txt"
    text.write_text("not HDF5\n")
    server = ServerProcess(tmp / "data")
    token = server.add_user("owner", admin=True)
    with server, running_proxy(server.url) as proxy, Transport(server.api_url, token) as t:
        did = t.post_json("dandisets/", {"name": "any url", "metadata": {}})["identifier"]
        asset = upload_file(t, dandiset_id=did, path=nwb, asset_path=PATH)
        other = upload_file(t, dandiset_id=did, path=text, asset_path="notes.txt")
        built = wait_built(f"{server.api_url}/assets/{asset['asset_id']}/index/")
        assert built.status_code == 200, built.text
        yield Site(server, proxy, nwb, did, asset["asset_id"], asset["blob"], other["asset_id"])


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


def _opens_through_the_index(site: Site, url: str) -> int:
    """Open ``url`` with pynwb, check it came through the index and reads like h5py does
    locally; return how many requests opening took."""
    site.proxy.reset()
    nwbfile = neuropil.open_nwb(url)
    try:
        opened = len(site.proxy.requests)
        assert isinstance(nwbfile.read_io._file, IndexFile), url
        with h5py.File(site.local) as h5:
            assert nwbfile.identifier == h5["identifier"][()].decode()
            got = nwbfile.acquisition["ElectricalSeries"].data[100:900, 3:9]
            np.testing.assert_array_equal(got, h5[SERIES][100:900, 3:9])
    finally:
        nwbfile.read_io.close()
    return opened


def test_api_urls_of_an_asset_open_in_one_request(site: Site) -> None:
    nested = f"{site.api}/dandisets/{site.dandiset}/versions/draft/assets/{site.asset_id}/"
    for url in (
        f"{site.api}/assets/{site.asset_id}/",  # the metadata ("file signature not found")
        f"{site.api}/assets/{site.asset_id}/download/",
        f"{site.api}/assets/{site.asset_id}/info/",
        nested,
        f"{nested}download/",
    ):
        assert _opens_through_the_index(site, url) == 1, url
        assert site.proxy.requests[0].path == f"/api/assets/{site.asset_id}/index/"


def test_blob_urls_follow_the_link_of_their_first_answer(site: Site) -> None:
    signed, unsigned = _blob_urls(site)
    assert f"{SIGNATURE_PARAM}=" in signed and "?" not in unsigned
    for url in (signed, unsigned):
        assert _opens_through_the_index(site, url) == 2, url
        first, index = site.proxy.requests[:2]
        assert first.path.startswith("/store/blobs/") and first.status == 206
        assert index.path == f"/api/blobs/{site.blob_id}/index/" and index.status == 200


def test_urls_naming_a_path_find_the_asset_then_its_index(site: Site, lab: str) -> None:
    location = quote(PATH, safe="/")
    for url in (
        f"{site.proxy.url}/dandiset/{site.dandiset}/draft/files?location={location}",
        f"dandi://{lab}/{site.dandiset}@draft/{PATH}",
        f"{lab.upper()}:{site.dandiset}/draft/{PATH}",
        f"{site.api}/dandisets/{site.dandiset}/versions/draft/assets/?path={location}",
    ):
        assert _opens_through_the_index(site, url) == 2, url  # the listing, the index
    # Without a version: which one (latest published, else draft) costs one request more.
    assert _opens_through_the_index(site, f"dandi://{lab}/{site.dandiset}/{PATH}") == 3


def test_path_urls_that_name_no_single_file_say_so(site: Site, lab: str) -> None:
    with pytest.raises(UsageError, match="a whole Dandiset, not one file"):
        neuropil.open(f"dandi://{lab}/{site.dandiset}@draft")
    with pytest.raises(NotFound, match="no asset at 'sub-01'"):
        neuropil.open(f"dandi://{lab}/{site.dandiset}@draft/sub-01/")


def test_index_false_reads_the_file_itself(site: Site) -> None:
    site.proxy.reset()
    with neuropil.open(f"{site.api}/assets/{site.asset_id}/", index=False) as f:
        assert isinstance(f, RemoteHdf5File)
    assert not any("/index/" in s.path for s in site.proxy.requests)


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
