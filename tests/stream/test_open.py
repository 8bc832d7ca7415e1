"""``neuropil.open`` / ``open_nwb`` against a real server, requests counted by a proxy.

The demo NWB file is served with a ``.lindi.json`` index uploaded next to it; the index's
chunk refs name the file's API download URL through the proxy, as a server-built index
would name the asset's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import httpx
import numpy as np
import pytest

import neuropil
from neuropil.client.upload_files import upload_file
from neuropil.errors import BlobChanged, InvalidHdf5, InvalidIndex
from neuropil.http.transport import Transport
from neuropil.index import IndexFile, build_index, write_index
from neuropil.reading import INDEX_URL_FIELD, RemoteHdf5File
from neuropil.stream import MemoryCache
from tests.stream.conftest import Site
from tests.stream.faults import StreamProxy

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

SERIES = "acquisition/ElectricalSeries/data"


@dataclass
class Indexed:
    """The demo file's index, uploaded for one proxy: where it is and what it says."""

    index: dict[str, object]
    index_url: str  # the index's blob URL (no redirect): opening costs exactly one request
    data_url: str  # the NWB file's API download URL, through the proxy
    asset_id: str  # an asset of the NWB file whose metadata names the index
    token: str


@pytest.fixture(scope="session")
def uploader(site: Site) -> Iterator[tuple[Transport, str, str]]:
    token = site.server.add_user("indexer", admin=True)
    with Transport(site.server.api_url, token) as t:
        did = t.post_json("dandisets/", {"name": "indexed", "metadata": {}})["identifier"]
        yield t, did, token


@pytest.fixture
def indexed(
    site: Site, proxy: StreamProxy, uploader: tuple[Transport, str, str], tmp_path: Path
) -> Indexed:
    t, did, token = uploader
    data_url = site.url("demo.nwb", proxy)
    index = build_index(site.local["demo.nwb"], url=data_url)
    path = tmp_path / "demo.lindi.json"
    write_index(index, path)
    index_asset = upload_file(
        t, dandiset_id=did, path=path, asset_path=f"index-{proxy.url[-5:]}.lindi.json"
    )
    with httpx.Client() as client:  # where the API redirects to: the index's own bytes
        answer = client.get(f"{proxy.api_url}/assets/{index_asset['asset_id']}/download/")
    assert answer.status_code == 302
    index_url = httpx.URL(proxy.url).join(answer.headers["location"])
    nwb_asset = upload_file(  # the same blob again (deduplicated), with the index named
        t,
        dandiset_id=did,
        path=site.local["demo.nwb"],
        asset_path=f"indexed-{proxy.url[-5:]}.nwb",
        metadata={INDEX_URL_FIELD: str(index_url)},
    )
    proxy.reset()
    return Indexed(index, str(index_url), data_url, nwb_asset["asset_id"], token)


def _chunk_refs(index: dict[str, object], rows: list[int]) -> list[list[int]]:
    refs = index["refs"]
    assert isinstance(refs, dict)
    return [refs[f"{SERIES}/{row}.0"] for row in rows]


def test_opening_through_the_index_is_one_request(
    site: Site, indexed: Indexed, proxy: StreamProxy
) -> None:
    nwbfile = neuropil.open_nwb(indexed.index_url)
    try:
        assert isinstance(nwbfile.read_io._file, IndexFile)
        assert len(proxy.requests) == 1  # the index; pynwb read everything else from it
        with h5py.File(site.local["demo.nwb"]) as h5:
            assert nwbfile.identifier == h5["identifier"][()].decode()
            expected = h5["processing/behavior/Position/position/data"][()]
        position = nwbfile.processing["behavior"]["Position"]["position"]
        np.testing.assert_array_equal(position.data[:], expected)  # inline: no request
        assert len(proxy.requests) == 1
    finally:
        nwbfile.read_io.close()


def test_a_slice_reads_only_its_chunks_in_one_coalesced_request(
    site: Site, indexed: Indexed, proxy: StreamProxy
) -> None:
    with neuropil.open(indexed.index_url) as f, h5py.File(site.local["demo.nwb"]) as h5:
        proxy.reset()
        got = f[SERIES][100:9000, 2:7]  # chunks are 8192 rows: rows 0 and 1 of the grid
        np.testing.assert_array_equal(got, h5[SERIES][100:9000, 2:7])
        store = [s for s in proxy.requests if s.path.startswith("/store/")]
        assert len(store) == 1 and store[0].status == 206  # adjacent chunks, one range
        (_, offset0, size0), (_, offset1, size1) = _chunk_refs(indexed.index, [0, 1])
        assert offset0 + size0 == offset1
        assert store[0].range == f"bytes={offset0}-{offset1 + size1 - 1}"
        assert f.stats.bytes == size0 + size1  # exactly the compressed chunks


def test_distant_chunks_are_fetched_in_parallel(
    site: Site, indexed: Indexed, proxy: StreamProxy
) -> None:
    with neuropil.open(indexed.index_url) as f, h5py.File(site.local["demo.nwb"]) as h5:
        f[SERIES][20000]  # learns the blob's URL and size (the API's redirect)
        proxy.reset()
        proxy.delay = 0.3
        rows = [5, 39000]  # first and last chunk: far apart in the file
        np.testing.assert_array_equal(f[SERIES][rows, :], h5[SERIES][rows, :])
        store = [s for s in proxy.requests if s.path.startswith("/store/")]
        assert len(store) == 2 and proxy.max_in_flight == 2
        assert len(proxy.requests) == 2  # nothing else: no index, no redirect


def test_cached_chunks_are_not_fetched_again(
    site: Site, indexed: Indexed, proxy: StreamProxy
) -> None:
    cache = MemoryCache()
    with neuropil.open(indexed.index_url, cache=cache) as f:
        first = f[SERIES][:8192]
    proxy.reset()
    with neuropil.open(indexed.index_url, cache=cache) as f:
        np.testing.assert_array_equal(f[SERIES][:8192], first)
        assert f.stats.requests == 0 and f.stats.cache_hits == 1
    assert len(proxy.requests) == 1  # the index only


def test_an_asset_names_its_index(site: Site, indexed: Indexed, proxy: StreamProxy) -> None:
    with neuropil.Archive(proxy.url, indexed.token) as archive:
        asset = archive.asset(indexed.asset_id)
        assert asset.metadata[INDEX_URL_FIELD] == indexed.index_url
        with asset.open() as f, h5py.File(site.local["demo.nwb"]) as h5:
            assert isinstance(f, IndexFile) and f.filename == asset.download_url
            np.testing.assert_array_equal(f[SERIES][-10:], h5[SERIES][-10:])
        nwbfile = asset.open_nwb()
        try:
            assert isinstance(nwbfile.read_io._file, IndexFile)
            assert len(nwbfile.units) == 8
        finally:
            nwbfile.read_io.close()


def test_explicit_index_for_a_data_url(site: Site, indexed: Indexed) -> None:
    with neuropil.open(indexed.data_url, index=indexed.index_url) as f:
        assert isinstance(f, IndexFile) and f.filename == indexed.data_url
    with neuropil.open(indexed.data_url, index=indexed.index) as f:  # an index already parsed
        assert f[SERIES].shape == (40000, 16)


def test_without_an_index_it_falls_back_to_remote_file(site: Site, proxy: StreamProxy) -> None:
    url = site.url("demo.nwb", proxy)  # the server has an index: index=False reads the file
    with neuropil.open(url, index=False) as f, h5py.File(site.local["demo.nwb"]) as h5:
        assert isinstance(f, RemoteHdf5File) and isinstance(f, h5py.File)
        np.testing.assert_array_equal(f[SERIES][100:200], h5[SERIES][100:200])
        assert f.stats.requests >= 2
    assert not any(s.path.endswith("/index/") for s in proxy.requests)
    nwbfile = neuropil.open_nwb(url, index=False)
    try:
        assert isinstance(nwbfile.read_io._file, RemoteHdf5File)
        assert nwbfile.acquisition["ElectricalSeries"].data.shape == (40000, 16)
    finally:
        nwbfile.read_io.close()
    # Assets: the server indexes every HDF5 blob, so an asset falls back only while its
    # index is built or when it has none (tests/index/test_server_index.py).


def test_bad_input_is_refused_clearly(site: Site, proxy: StreamProxy, tmp_path: Path) -> None:
    with pytest.raises(InvalidHdf5, match="not a readable HDF5 file"):
        neuropil.open(site.url("blob.bin", proxy))
    with pytest.raises(InvalidIndex, match="not a JSON index"):
        neuropil.open(site.url("blob.bin", proxy), index=site.url("blob.bin", proxy))
    not_index = tmp_path / "x.lindi.json"
    not_index.write_text('{"version": 1}')
    with pytest.raises(InvalidIndex, match="no 'refs'"):
        neuropil.open(not_index)
    with pytest.raises(TypeError, match="URL, a path or an Asset"):
        neuropil.open(42)  # type: ignore[arg-type]


def test_a_changed_blob_is_detected(site: Site, indexed: Indexed, proxy: StreamProxy) -> None:
    with neuropil.open(indexed.index_url) as f:
        f[SERIES][0]
        proxy.etag = '"something-else"'
        with pytest.raises(BlobChanged):
            f[SERIES][20000]


def test_a_whole_series_is_one_request_decoded_as_it_streams(
    site: Site, indexed: Indexed, proxy: StreamProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk of the series lies in one run of the file: one request, and each chunk
    is decoded on the pool as soon as its bytes are in (the threshold is lowered so the
    small demo file takes the path large reads take)."""
    from neuropil.index.h5 import _core

    monkeypatch.setattr(_core, "_PARALLEL_DECODE_BYTES", 0)
    selections = [np.s_[:], np.s_[100:39000, 3:9], np.s_[5::7, 2], np.s_[[5, 20000, 39999], :]]
    with neuropil.open(indexed.index_url) as f, h5py.File(site.local["demo.nwb"]) as h5:
        proxy.reset()
        for sel in selections:
            np.testing.assert_array_equal(f[SERIES][sel], h5[SERIES][sel])
        store = [s for s in proxy.requests if s.path.startswith("/store/")]
        refs = _chunk_refs(indexed.index, list(range(5)))
        first, last = refs[0], refs[-1]
        assert [s.range for s in store] == [f"bytes={first[1]}-{last[1] + last[2] - 1}"]
        assert f.stats.bytes == sum(size for _, _, size in refs)
        assert f.stats.cache_hits == 5 + 5 + 3  # the later reads: all from the cache


def test_chunks_are_handed_out_before_their_request_ends(
    site: Site, indexed: Indexed, proxy: StreamProxy
) -> None:
    from neuropil.index._range_sources import HttpSource
    from neuropil.index._store import ChunkStore

    refs = {f"c{i}": ref for i, ref in enumerate(_chunk_refs(indexed.index, list(range(5))))}
    cache = MemoryCache()
    with Transport(proxy.api_url) as t:
        templates = indexed.index["templates"]
        assert isinstance(templates, dict)
        store = ChunkStore(templates, lambda url: HttpSource(url, t, cache), cache=cache)
        store.load({"c0": refs["c0"]})  # learns the blob URL and size
        proxy.reset()
        seen: list[tuple[str, int]] = []
        rest = {k: v for k, v in refs.items() if k != "c0"}
        got = store.load(rest, lambda key, data: seen.append((key, store.stats.bytes)))
        store.close()
    assert [key for key, _ in seen] == ["c1", "c2", "c3", "c4"]
    # A body's bytes are counted when it is complete: c1..c3 came while it streamed.
    assert all(counted == refs["c0"][2] for _, counted in seen[:3])
    assert len(proxy.requests) == 1
    with site.local["demo.nwb"].open("rb") as local:
        for key, (_, offset, size) in rest.items():
            local.seek(offset)
            assert got[key] == local.read(size)


def test_the_chunk_cache_bound_holds_while_reading(
    site: Site, indexed: Indexed, proxy: StreamProxy
) -> None:
    sizes = [size for _, _, size in _chunk_refs(indexed.index, list(range(5)))]
    bound = max(sizes) * 2  # room for two of the five chunks
    cache = MemoryCache(bound)
    with (
        neuropil.open(indexed.index_url, cache=cache) as f,
        h5py.File(site.local["demo.nwb"]) as h5,
    ):
        for sel in (np.s_[:], np.s_[30000:], np.s_[:20000]):
            np.testing.assert_array_equal(f[SERIES][sel], h5[SERIES][sel])
            assert cache.used <= bound and len(cache) <= 2
