"""RemoteFile against a real server: bytes, h5py, pynwb, request counts and caches."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pynwb
import pytest
import remfile

import neuropil.stream
from neuropil.errors import BlobChanged, RangeNotSupported
from neuropil.http.transport import Transport
from neuropil.stream import DiskCache, MemoryCache, NoCache, RemoteFile
from neuropil.stream.remote_file import DEFAULT_BLOCK_SIZE
from tests.stream.conftest import BLOB_SIZE, MiB, Site
from tests.stream.faults import StreamProxy


def test_public_api_is_sorted_and_importable() -> None:
    names = neuropil.stream.__all__
    assert names == sorted(names)
    assert all(hasattr(neuropil.stream, n) for n in names)


def test_random_reads_are_byte_exact(site: Site, proxy: StreamProxy, transport: Transport) -> None:
    local = site.local["blob.bin"].read_bytes()
    rng = random.Random(7)
    with RemoteFile(site.url("blob.bin", proxy), transport=transport) as f:
        assert f.size == len(local)
        for _ in range(300):
            pos = rng.randrange(0, len(local) + 10)
            size = rng.choice([0, 1, 7, 4096, 65_536, 100_000, rng.randrange(1, 3 * MiB)])
            assert f.seek(pos) == pos
            assert f.read(size) == local[pos : pos + size]
            assert f.tell() == max(pos, min(pos + size, len(local)))
        f.seek(-100, 2)
        assert f.read() == local[-100:]
        f.seek(10)
        f.seek(5, 1)
        assert f.read(3) == local[15:18]
        buf = bytearray(10)
        f.seek(len(local) - 4)
        assert f.readinto(buf) == 4 and buf[:4] == local[-4:]


def test_file_object_behaviour(site: Site) -> None:
    f = RemoteFile(site.url("blob.bin"), cache=NoCache())
    assert f.readable() and f.seekable() and not f.writable()
    assert f.seek(0, 2) == BLOB_SIZE
    with pytest.raises(ValueError):
        f.seek(-1)
    with pytest.raises(ValueError):
        f.seek(0, 7)
    assert f"size={BLOB_SIZE}" in repr(f)
    f.close()
    assert f.closed
    with pytest.raises(ValueError):
        f.read(1)


def test_bad_arguments_fail_cleanly(site: Site, recwarn: pytest.WarningsRecorder) -> None:
    with pytest.raises(ValueError):
        RemoteFile(site.url("blob.bin"), block_size=0)


def test_an_empty_file(site: Site) -> None:
    with RemoteFile(site.url("empty.bin")) as f:
        assert (f.size, f.read(), f.read(10)) == (0, b"", b"")


def values(ds: h5py.Dataset) -> Any:
    """A dataset's value in a form that compares across files (references by target name)."""
    data = ds[()]
    if h5py.check_dtype(ref=ds.dtype) is not None:
        return [ds.file[r].name for r in np.ravel(data)]
    return data.tolist() if isinstance(data, np.ndarray) else data


def datasets(f: h5py.File) -> dict[str, Any]:
    out: dict[str, Any] = {}
    f.visititems(
        lambda n, o: out.__setitem__(n, values(o)) if isinstance(o, h5py.Dataset) else None
    )
    return out


def attributes(f: h5py.File) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    f.visititems(lambda n, o: out.__setitem__(n, {k: repr(v) for k, v in o.attrs.items()}))
    return out


def test_h5py_reads_every_dataset_as_from_the_local_file(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    with h5py.File(site.local["demo.nwb"], "r") as local:
        expected, attrs = datasets(local), attributes(local)
    with RemoteFile(site.url("demo.nwb", proxy), transport=transport) as rf:
        with h5py.File(rf, "r") as remote:
            assert datasets(remote) == expected
            assert attributes(remote) == attrs
        # Every byte was needed at most once: nothing is fetched twice.
        assert rf.stats.bytes <= rf.size


def measure(proxy: StreamProxy, open_file: Any) -> tuple[int, int]:
    """Requests and body bytes the proxy saw while ``open_file()`` ran pynwb's read."""
    proxy.reset()
    with h5py.File(open_file(), "r") as h, pynwb.NWBHDF5IO(file=h, mode="r") as io:
        nwb = io.read()
        assert nwb.session_id == "20240501"
        assert nwb.acquisition["ElectricalSeries"].data.shape == (40_000, 16)
    return len(proxy.requests), proxy.body_bytes


def test_pynwb_open_asks_no_more_than_remfile(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    url = site.url("demo.nwb", proxy)
    theirs = measure(proxy, lambda: remfile.File(url))
    ours = measure(proxy, lambda: RemoteFile(url, transport=transport))
    print(
        f"\npynwb open of {site.local['demo.nwb'].stat().st_size} bytes: "
        f"remfile {theirs[0]} requests / {theirs[1]} bytes, "
        f"neuropil {ours[0]} requests / {ours[1]} bytes"
    )
    assert ours[0] <= theirs[0]
    assert ours[1] < 500_000


def test_pynwb_reads_a_series_as_from_the_local_file(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    with pynwb.NWBHDF5IO(str(site.local["demo.nwb"]), "r") as io:
        expected = io.read().acquisition["ElectricalSeries"].data[:]
    rf = RemoteFile(site.url("demo.nwb", proxy), transport=transport)
    with h5py.File(rf, "r") as h, pynwb.NWBHDF5IO(file=h, mode="r") as io:
        np.testing.assert_array_equal(io.read().acquisition["ElectricalSeries"].data[:], expected)
    # The whole file is 1.4 MB: a stream's read-ahead may not fetch anything twice.
    assert rf.stats.bytes <= rf.size


def test_a_stream_ramps_up_and_a_jump_fetches_only_what_it_needs(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    local = site.local["blob.bin"].read_bytes()
    bs = 64 << 10
    reads = BLOB_SIZE // bs + 1
    cache = MemoryCache(4 * MiB)  # read-ahead stays within half of it: 32 blocks
    url = site.url("blob.bin", proxy)
    with RemoteFile(url, cache=cache, transport=transport, block_size=bs) as f:
        assert b"".join(f.read(bs) for _ in range(reads)) == local
        # 193 blocks in windows of 1, 2, 4, ... 32 blocks: 13 requests, not 193.
        assert len(proxy.ranged()) <= 13
        assert f.stats.bytes == BLOB_SIZE
        proxy.reset()
        f.seek(5 * MiB + 10)
        assert f.read(100) == local[5 * MiB + 10 : 5 * MiB + 110]
        assert [s.range for s in proxy.requests] == [f"bytes={5 * MiB}-{5 * MiB + 65535}"]


def test_without_a_cache_nothing_is_read_ahead(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    with RemoteFile(site.url("blob.bin", proxy), cache=NoCache(), transport=transport) as f:
        proxy.reset()
        for _ in range(20):
            f.read(DEFAULT_BLOCK_SIZE)
        assert f.stats.bytes == 21 * DEFAULT_BLOCK_SIZE  # the first block twice, at open too
        assert len(proxy.requests) == 20


def test_the_memory_bound_holds_while_reading(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """remfile lets its cache grow past ``_max_cache_size``; ours never exceeds its bound."""
    url, bound = site.url("blob.bin", proxy), 10 * DEFAULT_BLOCK_SIZE
    cache = MemoryCache(bound)
    rng = random.Random(3)
    offsets = [rng.randrange(0, BLOB_SIZE) for _ in range(60)]
    with RemoteFile(url, cache=cache, transport=transport) as f:
        for pos in offsets:
            f.seek(pos)
            f.read(1000)
            assert cache.used <= bound
    theirs = remfile.File(url, _min_chunk_size=DEFAULT_BLOCK_SIZE, _max_cache_size=bound)
    for pos in offsets:
        theirs.seek(pos)
        theirs.read(1000)
    assert len(theirs._chunks) * DEFAULT_BLOCK_SIZE > 2 * bound  # 44 blocks for 10


def test_a_server_ignoring_range_is_refused_at_open(site: Site, proxy: StreamProxy) -> None:
    proxy.inject("ignore-range", "/store/", times=5)
    with pytest.raises(RangeNotSupported):
        RemoteFile(site.url("demo.nwb", proxy), block_size=4096)


def test_the_size_is_learned_without_head(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    proxy.refuse_head = True
    with RemoteFile(site.url("demo.nwb", proxy), transport=transport) as rf:
        with h5py.File(rf, "r") as h:
            assert h["acquisition/ElectricalSeries/data"].shape == (40_000, 16)
        assert rf.size == site.local["demo.nwb"].stat().st_size
    assert proxy.requests and not [s for s in proxy.requests if s.method == "HEAD"]


def read_all(url: str, **kwargs: Any) -> tuple[dict[str, Any], RemoteFile]:
    rf = RemoteFile(url, **kwargs)
    with h5py.File(rf, "r") as h:
        return datasets(h), rf


def test_a_disk_cache_serves_a_second_open_without_requests(
    site: Site, proxy: StreamProxy, transport: Transport, tmp_path: Path
) -> None:
    url = site.url("demo.nwb", proxy)
    first, rf = read_all(url, cache=DiskCache(tmp_path / "c"), transport=transport)
    assert rf.stats.requests > 0
    proxy.reset()
    second, rf = read_all(url, cache=DiskCache(tmp_path / "c"), transport=transport)
    assert second == first
    assert proxy.requests == [] and rf.stats.requests == 0 and rf.stats.cache_misses == 0


CHILD = """
import json, sys, h5py
from neuropil.stream import DiskCache, RemoteFile
url, directory, bound = sys.argv[1], sys.argv[2], int(sys.argv[3])
rf = RemoteFile(url, cache=DiskCache(directory, bound))
with h5py.File(rf, "r") as h:
    total = int(h["acquisition/ElectricalSeries/data"][:].sum())
print(json.dumps({"requests": rf.stats.requests, "hits": rf.stats.cache_hits, "sum": total}))
"""


def run_child(url: str, directory: Path, bound: int) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), url, str(directory), str(bound)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_a_disk_cache_is_shared_with_other_processes_within_its_bound(
    site: Site, proxy: StreamProxy, transport: Transport, tmp_path: Path
) -> None:
    url, directory = site.url("demo.nwb", proxy), tmp_path / "shared"
    with h5py.File(site.local["demo.nwb"], "r") as h:
        total = int(h["acquisition/ElectricalSeries/data"][:].sum())
    warm = run_child(url, directory, 64 * MiB)
    assert warm["requests"] > 0 and warm["sum"] == total
    proxy.reset()
    again = run_child(url, directory, 64 * MiB)
    assert again == {"requests": 0, "hits": again["hits"], "sum": total}
    assert proxy.requests == []
    # Under a bound smaller than the file, blocks are evicted as they come.
    small = 256 << 10
    tight = run_child(url, tmp_path / "tight", small)
    assert tight["sum"] == total
    assert DiskCache(tmp_path / "tight", small).used <= small


def test_a_changed_blob_is_an_error_and_the_cache_forgets_it(
    site: Site, proxy: StreamProxy, transport: Transport, tmp_path: Path
) -> None:
    url, cache = site.url("blob.bin", proxy), DiskCache(tmp_path / "c")
    with RemoteFile(url, cache=cache, transport=transport) as f:
        f.read(10)
        assert cache.identity(url) is not None
        proxy.etag = '"0123456789abcdef0123456789abcdef-1"'
        f.seek(5 * MiB)
        with pytest.raises(BlobChanged):
            f.read(10)
    assert cache.identity(url) is None


def test_retries_are_invisible_to_the_reader(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    local = site.local["blob.bin"].read_bytes()
    with RemoteFile(site.url("blob.bin", proxy), transport=transport) as f:
        proxy.fail(503, "/store/", times=2)
        proxy.inject("truncate", "/store/", times=1, after=100)
        f.seek(3 * MiB)
        assert f.read(200_000) == local[3 * MiB : 3 * MiB + 200_000]
        assert f.stats.retries == 3


def test_a_large_read_is_fetched_exactly_in_one_request(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """h5py reading a whole chunk: no blocks, no read-ahead, not one byte more."""
    local = site.local["blob.bin"].read_bytes()
    with RemoteFile(site.url("blob.bin", proxy), transport=transport) as f:
        proxy.reset()
        before = f.stats.bytes
        start, size = 3 * MiB + 17, 2 * MiB + 5
        for pos in (start, start + size):  # two "chunks" one after the other
            f.seek(pos)
            assert f.read(size) == local[pos : pos + size]
        assert [s.range for s in proxy.requests] == [
            f"bytes={pos}-{pos + size - 1}" for pos in (start, start + size)
        ]
        assert f.stats.bytes - before == 2 * size
        f.seek(start)  # the same "chunk" again: the cache holds it as one entry
        assert f.read(size) == local[start : start + size]
        assert len(proxy.requests) == 2
        # Small reads still go through blocks: one block for a read inside one.
        proxy.reset()
        f.seek(MiB + 5)
        assert f.read(100) == local[MiB + 5 : MiB + 105]
        assert [s.range for s in proxy.requests] == [f"bytes={MiB}-{MiB + DEFAULT_BLOCK_SIZE - 1}"]


def test_a_read_in_the_tail_fetches_through_to_the_end(
    site: Site, proxy: StreamProxy, transport: Transport
) -> None:
    """HDF5 keeps most of an NWB file's metadata at its end: one request serves it all."""
    local = site.local["blob.bin"].read_bytes()
    with RemoteFile(site.url("blob.bin", proxy), transport=transport) as f:
        proxy.reset()
        for pos in (BLOB_SIZE - 300_000, BLOB_SIZE - 100, BLOB_SIZE - 450_000):
            f.seek(pos)
            assert f.read(50) == local[pos : pos + 50]
        first = (BLOB_SIZE - 300_000) // DEFAULT_BLOCK_SIZE * DEFAULT_BLOCK_SIZE
        ranges = [s.range for s in proxy.requests]
        assert ranges[0] == f"bytes={first}-{BLOB_SIZE - 1}"
        assert len(ranges) == 2  # the last read lies before the first one's block
