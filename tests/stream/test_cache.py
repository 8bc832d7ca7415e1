"""Cache strategies: one conformance kit every cache passes, then each one's own promises."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from neuropil.stream import BlobIdentity, BlockCache, BlockKey, DiskCache, MemoryCache, NoCache

BLOCK = 4096


def key(index: int, identity: str = "etag x 100") -> BlockKey:
    return BlockKey(identity, BLOCK, index)


def block(index: int) -> bytes:
    return bytes([index % 256]) * BLOCK


class CacheKit:
    """What every caching strategy does; subclasses say how to make one."""

    def make(self, tmp_path: Path, max_bytes: int = 1 << 20) -> BlockCache:
        raise NotImplementedError

    def test_put_then_get_counts_hits_misses_and_bytes(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path)
        assert cache.get(key(1)) is None
        cache.put(key(1), block(1))
        assert key(1) in cache and key(2) not in cache
        assert cache.get(key(1)) == block(1)
        assert (cache.stats.hits, cache.stats.misses, cache.stats.bytes) == (1, 1, BLOCK)

    def test_keys_differ_by_identity_block_size_and_index(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path)
        cache.put(key(1), block(1))
        assert cache.get(key(1, "etag y 100")) is None
        assert cache.get(BlockKey("etag x 100", BLOCK * 2, 1)) is None
        assert cache.get(key(2)) is None

    def test_identities_are_remembered_and_forgotten(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path)
        ident = BlobIdentity(100, '"abc-1"')
        assert cache.identity("http://x/a") is None
        cache.remember("http://x/a", ident)
        assert cache.identity("http://x/a") == ident
        assert cache.identity("http://x/b") is None
        cache.forget("http://x/a")
        cache.forget("http://x/a")  # twice: no error
        assert cache.identity("http://x/a") is None

    def test_the_byte_bound_is_enforced_on_every_put(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path, max_bytes=10 * BLOCK)
        for i in range(60):
            cache.put(key(i), block(i))
            assert used(cache) <= 10 * BLOCK
        assert cache.get(key(59)) == block(59)  # the newest survive
        assert cache.get(key(0)) is None

    def test_recently_used_blocks_are_kept(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path, max_bytes=10 * BLOCK)
        for i in range(10):
            cache.put(key(i), block(i))
            bump(cache, tmp_path, key(0))
        for i in range(10, 15):
            cache.put(key(i), block(i))
        assert cache.get(key(0)) == block(0)

    def test_a_block_larger_than_the_bound_is_not_kept(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path, max_bytes=BLOCK - 1)
        cache.put(key(0), block(0))
        assert cache.get(key(0)) is None

    def test_threads_share_a_cache(self, tmp_path: Path) -> None:
        cache = self.make(tmp_path, max_bytes=32 * BLOCK)

        def work(offset: int) -> None:
            for i in range(offset, offset + 100):
                cache.put(key(i), block(i))
                data = cache.get(key(i - 3))
                assert data is None or data == block(i - 3)

        threads = [threading.Thread(target=work, args=(n * 1000,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert used(cache) <= 32 * BLOCK * 1.25


def used(cache: BlockCache) -> int:
    assert isinstance(cache, MemoryCache | DiskCache)
    return cache.used


def bump(cache: BlockCache, tmp_path: Path, k: BlockKey) -> None:
    """Use a block; on disk, make the use visibly later than the writes around it (mtime
    resolution is coarse on some file systems)."""
    cache.get(k)
    if isinstance(cache, DiskCache):
        path = cache._path(k)
        os.utime(path, (os.stat(path).st_atime, os.stat(path).st_mtime + 3600))


class TestMemoryCache(CacheKit):
    def make(self, tmp_path: Path, max_bytes: int = 1 << 20) -> BlockCache:
        return MemoryCache(max_bytes)

    def test_replacing_a_block_keeps_the_count_right(self, tmp_path: Path) -> None:
        cache = MemoryCache(10 * BLOCK)
        cache.put(key(0), block(0))
        cache.put(key(0), block(1))
        assert (len(cache), cache.used, cache.get(key(0))) == (1, BLOCK, block(1))


class TestDiskCache(CacheKit):
    def make(self, tmp_path: Path, max_bytes: int = 1 << 20) -> BlockCache:
        return DiskCache(tmp_path / "cache", max_bytes)

    def test_blocks_outlive_the_cache_object(self, tmp_path: Path) -> None:
        DiskCache(tmp_path / "c").put(key(3), block(3))
        DiskCache(tmp_path / "c").remember("u", BlobIdentity(5, None))
        again = DiskCache(tmp_path / "c")
        assert again.get(key(3)) == block(3)
        assert again.identity("u") == BlobIdentity(5, None)

    def test_a_block_deleted_under_the_cache_is_a_miss(self, tmp_path: Path) -> None:
        cache = DiskCache(tmp_path / "c")
        cache.put(key(3), block(3))
        cache._path(key(3)).unlink()  # another process evicted it
        assert cache.get(key(3)) is None
        cache.put(key(4), block(4))

    def test_no_temporary_files_are_left_and_stale_ones_are_cleared(self, tmp_path: Path) -> None:
        cache = DiskCache(tmp_path / "c", max_bytes=4 * BLOCK)
        stale = tmp_path / "c" / "blocks" / "00" / ".dead.tmp"
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"x")
        os.utime(stale, (0, 0))  # a writer that died long ago
        for i in range(10):
            cache.put(key(i), block(i))
        files = [p.name for p in (tmp_path / "c").rglob("*") if p.is_file()]
        assert not [n for n in files if n.endswith(".tmp")]

    def test_a_corrupt_identity_record_reads_as_unknown(self, tmp_path: Path) -> None:
        cache = DiskCache(tmp_path / "c")
        cache.remember("u", BlobIdentity(5, '"e"'))
        cache._identity_path("u").write_text("{not json")
        assert cache.identity("u") is None

    def test_processes_share_a_directory_within_the_bound(self, tmp_path: Path) -> None:
        """Four processes write 400 blocks each into a 64-block cache at the same time."""
        directory, bound = tmp_path / "shared", 64 * BLOCK
        script = textwrap.dedent(f"""
            import sys
            from neuropil.stream import BlockKey, DiskCache
            cache = DiskCache({str(directory)!r}, {bound})
            n = int(sys.argv[1])
            for i in range(400):
                cache.put(BlockKey("etag p", {BLOCK}, n * 1000 + i), bytes([i % 256]) * {BLOCK})
                got = cache.get(BlockKey("etag p", {BLOCK}, n * 1000 + i - 5))
                assert got is None or got == bytes([(i - 5) % 256]) * {BLOCK}, "corrupt block"
        """)
        procs = [
            subprocess.Popen([sys.executable, "-c", script, str(n)], stderr=subprocess.PIPE)
            for n in range(4)
        ]
        for p in procs:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err.decode()
        # Each writer may overshoot by an eighth of the bound before it rescans.
        cache = DiskCache(directory, bound)
        assert cache.used <= bound * (1 + 4 / 8)
        cache.put(key(0), block(0))  # a fresh writer scans first, and evicts
        assert cache.used <= bound


def test_no_cache_keeps_nothing() -> None:
    cache = NoCache()
    cache.put(key(1), block(1))
    cache.remember("u", BlobIdentity(1, None))
    assert cache.get(key(1)) is None and key(1) not in cache and cache.identity("u") is None
    assert cache.stats.misses == 1


def test_content_keys_prefer_a_strong_etag() -> None:
    assert BlobIdentity(5, '"e-1"').key("http://a") == BlobIdentity(5, '"e-1"').key("http://b")
    assert BlobIdentity(5, 'W/"e"').key("http://a") != BlobIdentity(5, 'W/"e"').key("http://b")
    assert BlobIdentity(5, None).key("http://a") != BlobIdentity(6, None).key("http://a")


@pytest.mark.parametrize("cls", [MemoryCache, DiskCache])
def test_a_negative_bound_is_refused(cls: type, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        cls(tmp_path, -1) if cls is DiskCache else cls(-1)
