"""Upload parts written around the page cache: the bytes, the fallbacks and the coherency
with cached pages."""

from __future__ import annotations

import errno
import fcntl
import os
import random
from pathlib import Path

import pytest

from neuropil.storage import LocalBlobStore
from neuropil.storage._direct import ALIGN, BUFFER, RegionWriter
from neuropil.testing.storage import pattern

MiB = 1 << 20


def direct_supported(d: Path) -> bool:
    probe = d / "probe"
    probe.touch()
    try:
        os.close(os.open(probe, os.O_WRONLY | getattr(os, "O_DIRECT", 0)))
    except OSError:
        return False
    return hasattr(os, "O_DIRECT")


def ragged(data: bytes, seed: int) -> list[bytes]:
    """``data`` cut at random places, as chunks of a request body arrive."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 300_000)
        out.append(data[i : i + n])
        i += n
    return out


def write_region(path: Path, offset: int, data: bytes, *, direct: bool = True) -> bool:
    """Write ``data`` at ``offset``; whether it went around the page cache."""
    with RegionWriter(path, offset, direct=direct) as w:
        for chunk in ragged(data, seed=offset):
            w.write(chunk)
        used = w.direct
    return used


@pytest.mark.parametrize("size", [0, 1, ALIGN - 1, ALIGN, BUFFER, 2 * BUFFER + 12_345])
def test_region_bytes_land_where_they_belong(tmp_path: Path, size: int) -> None:
    path = tmp_path / "data"
    before = pattern(ALIGN * 3, seed=1)
    path.write_bytes(before)
    data = pattern(size, seed=2)
    used = write_region(path, ALIGN * 2, data)
    got = path.read_bytes()
    assert got[: ALIGN * 2] == before[: ALIGN * 2]
    assert got[ALIGN * 2 :][:size] == data
    # Regions smaller than the buffer are not worth a direct write.
    assert used == (size >= BUFFER and direct_supported(tmp_path))


def test_unaligned_offset_writes_through_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.touch()
    data = pattern(BUFFER + 999, seed=3)
    assert write_region(path, 1000, data) is False
    assert path.read_bytes()[1000:] == data


def test_plain_writes_on_request(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.touch()
    data = pattern(3 * MiB + 5, seed=4)
    assert write_region(path, 0, data, direct=False) is False
    assert path.read_bytes() == data


def test_refused_direct_write_falls_back_without_losing_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device that wants a larger alignment answers EINVAL (not something this machine's
    disk can be made to do): the buffer and the rest of the region are written plainly."""
    real_pwrite = os.pwrite
    calls = {"direct": 0}

    def pwrite(fd: int, data: bytes | memoryview, offset: int) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            calls["direct"] += 1
            if calls["direct"] == 2:
                raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    path = tmp_path / "data"
    path.touch()
    data = pattern(3 * BUFFER + 77, seed=5)
    with RegionWriter(path, 0) as w:
        for chunk in ragged(data, seed=5):
            w.write(chunk)
        assert w.direct is False
    assert calls["direct"] == (2 if direct_supported(tmp_path) else 0)
    assert path.read_bytes() == data


def test_retried_part_replaces_bytes_another_reader_had_cached(tmp_path: Path) -> None:
    """The first try's bytes are in the page cache (read back); the second try, written
    around it, is what the object holds afterwards."""
    store = LocalBlobStore(tmp_path / "store")
    part = 8 * MiB
    mp = store.create_multipart("k", part_size=part)
    store.upload_part("k", mp, 1, ragged(pattern(part, seed=6), seed=6))
    data_file = store.root / "multipart" / mp / "data"
    assert data_file.read_bytes()[:100] == pattern(100, seed=6)
    second = pattern(part, seed=7)
    p1 = store.upload_part("k", mp, 1, ragged(second, seed=7))
    last = pattern(3 * MiB + 3, seed=8)
    p2 = store.upload_part("k", mp, 2, ragged(last, seed=8))
    store.complete_multipart("k", mp, [p1, p2])
    assert store.local_path("k").read_bytes() == second + last


def test_leaving_by_an_exception_writes_nothing_more(tmp_path: Path) -> None:
    """A broken connection mid-part: what was still buffered is dropped (the part is not
    marked, the client sends it again), what was written stays as it was written."""
    path = tmp_path / "data"
    path.touch()
    data = pattern(BUFFER + BUFFER // 2, seed=9)
    with pytest.raises(ConnectionError), RegionWriter(path, 0) as w:
        w.write(data)
        raise ConnectionError("peer went away")
    got = path.read_bytes()
    assert len(got) in (0, BUFFER)
    assert got == data[: len(got)]
