"""The blob-store contract: the tests every :class:`~neuropil.storage.BlobStore` passes.

neuropil's own backends (local filesystem, memory) run these tests, and so can yours: a
backend proves itself by subclassing :class:`BlobStoreContract` in a test module,
implementing :meth:`~BlobStoreContract.make_store`, and running pytest::

    # tests/test_s3_store.py
    from pathlib import Path

    from neuropil.storage import BlobStore
    from neuropil.testing.storage import BlobStoreContract

    from my_package import S3BlobStore


    class TestS3BlobStore(BlobStoreContract):
        def make_store(self, tmp_path: Path) -> BlobStore:
            return S3BlobStore(bucket=..., prefix=tmp_path.name)  # new and empty per test

Every test gets a new, empty store from ``make_store``. The class name must start with
``Test`` for pytest to collect it; a backend may add tests of its own to the subclass. For
pytest's detailed assertion messages inside these tests, add
``pytest.register_assert_rewrite("neuropil.testing")`` to your ``conftest.py`` (before the
test modules import this one).

The contract covers whole objects, key order in listings (and ``start_after``), ranged
reads, invalid and missing keys, multipart uploads (parts in any order, retries, the
dandi-etag of the completed object, aborts), part-size hints, concurrent uploads and the
embargo tags a store declares (``capabilities.embargo_tags``). The
helpers below (:func:`pattern`, :func:`chunked`, :func:`md5`) serve a backend's own tests
too.

This module imports pytest: install ``neuropil[testing]``.
"""

from __future__ import annotations

import abc
import hashlib
import itertools
import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dandischema.digests.dandietag import DandiETag, Part, PartGenerator

from neuropil.core.digests import etag_from_part_md5s
from neuropil.core.ranges import ByteRange
from neuropil.errors import StorageError
from neuropil.storage import BlobStore, PartInfo

MiB = 1 << 20
INVALID_KEYS = ["", "/a", "a/", "a//b", ".", "..", "./a", "a/./b", "a/../b", "a/..", "a\x00b"]


def pattern(size: int, seed: int = 0) -> bytes:
    """``size`` cheap, non-repeating-per-part bytes (the period, 4093, is prime)."""
    block = bytes((i * 131 + seed * 7 + (i >> 8)) % 256 for i in range(4093))
    return (block * (size // len(block) + 1))[:size]


def md5(data: bytes) -> str:
    """The hex MD5 of ``data``: a plain object's ETag, and each part's."""
    return hashlib.md5(data).hexdigest()


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` as an iterable of ``size``-byte chunks, like a request body."""
    view = memoryview(data)
    for i in range(0, len(view), size):
        yield bytes(view[i : i + size])


class SmallParts(PartGenerator):
    """dandischema's part layout with 1000-byte parts, to test many parts cheaply."""

    DEFAULT_PART_SIZE = 1000
    MIN_PART_SIZE = 1


def dandischema_etag(data: bytes, part_gen: type[PartGenerator] = PartGenerator) -> str:
    """The dandi-etag of ``data`` as dandischema (and so every DANDI client) computes it."""
    etagger = DandiETag(len(data), part_gen=part_gen)
    for part in etagger.get_parts():
        etagger.update(data[part.offset : part.offset + part.size])
    return etagger.as_str()


def dandischema_parts(size: int, part_gen: type[PartGenerator] = PartGenerator) -> list[Part]:
    """The parts dandischema (and so every DANDI client) splits ``size`` bytes into."""
    return list(part_gen.for_file_size(size))


class BlobStoreContract(abc.ABC):
    """What every backend must do. Subclasses implement :meth:`make_store`."""

    @abc.abstractmethod
    def make_store(self, tmp_path: Path) -> BlobStore:
        """A new, empty store (``tmp_path`` is a fresh directory it may use)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> BlobStore:
        return self.make_store(tmp_path)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def read_all(store: BlobStore, key: str, byte_range: ByteRange | None = None) -> bytes:
        chunks = list(store.read(key, byte_range))
        assert all(isinstance(c, bytes) for c in chunks)
        return b"".join(chunks)

    @staticmethod
    def upload(
        store: BlobStore, key: str, data: bytes, parts: Sequence[Part], *, order_seed: int = 0
    ) -> tuple[str, list[PartInfo]]:
        """Upload ``data`` in ``parts`` (in a shuffled order); returns the id and the parts."""
        mp = store.create_multipart(key)
        shuffled = list(parts)
        random.Random(order_seed).shuffle(shuffled)
        infos = {}
        for p in shuffled:
            body = data[p.offset : p.offset + p.size]
            step = 333 if p.size < MiB else MiB + 333
            infos[p.number] = store.upload_part(key, mp, p.number, chunked(body, step))
        return mp, [infos[p.number] for p in parts]

    # -- objects ---------------------------------------------------------------------------
    def test_put_stat_read(self, store: BlobStore) -> None:
        before = datetime.now(UTC) - timedelta(seconds=2)
        data = pattern(10_000)
        info = store.put("blobs/abc/def/one", data)
        assert info.key == "blobs/abc/def/one"
        assert info.size == len(data)
        assert info.etag == md5(data)
        assert info.modified.tzinfo is not None
        assert before <= info.modified <= datetime.now(UTC) + timedelta(seconds=2)
        assert store.stat("blobs/abc/def/one") == info
        assert self.read_all(store, "blobs/abc/def/one") == data

    def test_put_replaces(self, store: BlobStore) -> None:
        store.put("k", b"first version")
        info = store.put("k", b"second")
        assert info.size == 6 and info.etag == md5(b"second")
        assert store.stat("k") == info
        assert self.read_all(store, "k") == b"second"
        assert [i.key for i in store.list()] == ["k"]

    def test_empty_object(self, store: BlobStore) -> None:
        info = store.put("empty", b"")
        assert (info.size, info.etag) == (0, md5(b""))
        assert self.read_all(store, "empty") == b""
        assert self.read_all(store, "empty", ByteRange(0, 0)) == b""

    def test_large_object_reads_whole(self, store: BlobStore) -> None:
        data = pattern(3 * MiB + 17)
        store.put("big", data)
        assert self.read_all(store, "big") == data

    def test_non_ascii_key(self, store: BlobStore) -> None:
        store.put("zarr/données/фото 1.bin", b"x")
        assert self.read_all(store, "zarr/données/фото 1.bin") == b"x"
        assert [i.key for i in store.list("zarr/")] == ["zarr/données/фото 1.bin"]

    def test_delete(self, store: BlobStore) -> None:
        store.put("a/x", b"1")
        store.put("a/y", b"2")
        store.delete("a/x")
        assert store.stat("a/x") is None
        with pytest.raises(KeyError):
            store.read("a/x")
        assert [i.key for i in store.list()] == ["a/y"]
        store.delete("a/x")  # again: not an error
        store.put("a/x", b"back")
        assert self.read_all(store, "a/x") == b"back"

    def test_a_key_where_a_deleted_folder_was(self, store: BlobStore) -> None:
        # Zarr keys: ``a/b`` replaced by ``a`` (on S3 folders do not exist at all).
        store.put("z/a/b", b"in a folder")
        store.delete("z/a/b")
        store.put("z/a", b"a file now")
        assert [i.key for i in store.list("z/")] == ["z/a"]

    def test_put_chunks(self, store: BlobStore) -> None:
        info = store.put_chunks("c/x", iter([b"ab", b"", b"cd"]))
        assert (info.size, info.etag) == (4, hashlib.md5(b"abcd").hexdigest())
        assert self.read_all(store, "c/x") == b"abcd"

    def test_put_chunks_stores_nothing_when_the_stream_fails(self, store: BlobStore) -> None:
        store.put("c/y", b"old")

        def failing() -> Iterator[bytes]:
            yield b"new bytes"
            raise ValueError("the body's md5 is wrong")

        with pytest.raises(ValueError):
            store.put_chunks("c/y", failing())
        with pytest.raises(ValueError):
            store.put_chunks("c/z", failing())
        assert self.read_all(store, "c/y") == b"old"
        assert store.stat("c/z") is None

    def test_list_prefix_and_key_order(self, store: BlobStore) -> None:
        # Key order, not folder-walk order: '-' (0x2d) sorts before '/' (0x2f).
        keys = ["b", "a/2", "a/10", "a/1", "a-b", "ab", "blobs/abc/def/x", "a/sub/z"]
        for i, k in enumerate(keys):
            store.put(k, pattern(i + 1, seed=i))
        assert [i.key for i in store.list()] == sorted(keys)
        assert [i.key for i in store.list("a/")] == ["a/1", "a/10", "a/2", "a/sub/z"]
        assert [i.key for i in store.list("a")] == ["a-b", "a/1", "a/10", "a/2", "a/sub/z", "ab"]
        assert [i.key for i in store.list("a/1")] == ["a/1", "a/10"]
        assert [i.key for i in store.list("blobs/abc/")] == ["blobs/abc/def/x"]
        assert list(store.list("zzz")) == []
        for info in store.list():
            assert info == store.stat(info.key)
            assert info.size == keys.index(info.key) + 1

    def test_list_start_after(self, store: BlobStore) -> None:
        # S3's StartAfter: keys sorting after it, which need not be a key itself; a folder
        # sorts among keys as ``name/`` ('-' < '/' < '0').
        keys = ["y", "z/a-b", "z/a/1", "z/a/2/x", "z/a0", "z/b"]
        for k in reversed(keys):
            store.put(k, k.encode())

        def listed(prefix: str = "", after: str = "") -> list[str]:
            return [i.key for i in store.list(prefix, start_after=after)]

        assert listed(after="x") == keys
        assert listed("z/", "z/a-b") == ["z/a/1", "z/a/2/x", "z/a0", "z/b"]
        assert listed("z/", "z/a/") == ["z/a/1", "z/a/2/x", "z/a0", "z/b"]
        assert listed("z/", "z/a/2") == ["z/a/2/x", "z/a0", "z/b"]
        assert listed("z/", "z/a/2/x") == ["z/a0", "z/b"]
        assert listed("z/", "z/a/3") == ["z/a0", "z/b"]
        assert listed("z/a/", "z/a/1") == ["z/a/2/x"]
        assert listed("z/a", "z/a/2/x") == ["z/a0"]
        assert listed(after="z/b") == []
        assert listed("z/", "a") == keys[1:]
        assert listed("y", "y") == []
        # Pages of two, each starting after the last key of the one before.
        pages, after = [], ""
        while page := [i.key for i in itertools.islice(store.list(start_after=after), 2)]:
            pages.append(page)
            after = page[-1]
        assert pages == [keys[0:2], keys[2:4], keys[4:6]]
        for info in store.list("z/", start_after="z/a/2"):
            assert info == store.stat(info.key)

    def test_list_empty_store(self, store: BlobStore) -> None:
        assert list(store.list()) == []
        assert list(store.list_multipart()) == []

    # -- ranged reads ----------------------------------------------------------------------
    @pytest.mark.parametrize(
        ("start", "stop"),
        [(0, 1), (0, 100), (1000, 2345), (4095, 4097), (9990, 10_000), (9999, 10_000), (0, 10_000)],
    )
    def test_ranged_read(self, store: BlobStore, start: int, stop: int) -> None:
        data = pattern(10_000)
        store.put("r", data)
        assert self.read_all(store, "r", ByteRange(start, stop)) == data[start:stop]

    @pytest.mark.parametrize("at", [0, 5000, 10_000])
    def test_empty_range(self, store: BlobStore, at: int) -> None:
        store.put("r", pattern(10_000))
        assert self.read_all(store, "r", ByteRange(at, at)) == b""

    def test_range_across_read_chunks(self, store: BlobStore) -> None:
        data = pattern(3 * MiB)
        store.put("r", data)
        r = ByteRange(MiB - 10, 2 * MiB + 10)
        assert self.read_all(store, "r", r) == data[r.start : r.stop]

    # -- missing and invalid keys ----------------------------------------------------------
    def test_missing_key(self, store: BlobStore) -> None:
        assert store.stat("no/such/key") is None
        with pytest.raises(KeyError):
            store.read("no/such/key")  # at once, before the first chunk is asked for
        with pytest.raises(KeyError):
            store.read("no/such/key", ByteRange(0, 1))
        store.delete("no/such/key")

    def test_prefix_of_keys_is_not_an_object(self, store: BlobStore) -> None:
        store.put("dir/file", b"inside")
        assert store.stat("dir") is None
        with pytest.raises(KeyError):
            store.read("dir")
        store.delete("dir")
        assert self.read_all(store, "dir/file") == b"inside"

    def test_key_below_an_object_is_missing(self, store: BlobStore) -> None:
        store.put("file", b"data")
        assert store.stat("file/below") is None
        with pytest.raises(KeyError):
            store.read("file/below")
        store.delete("file/below")
        assert self.read_all(store, "file") == b"data"

    @pytest.mark.parametrize("key", INVALID_KEYS)
    def test_invalid_keys_rejected(self, store: BlobStore, key: str) -> None:
        with pytest.raises(ValueError, match="invalid object key"):
            store.put(key, b"x")
        with pytest.raises(ValueError, match="invalid object key"):
            store.stat(key)
        with pytest.raises(ValueError, match="invalid object key"):
            store.read(key)
        with pytest.raises(ValueError, match="invalid object key"):
            store.delete(key)
        with pytest.raises(ValueError, match="invalid object key"):
            store.create_multipart(key)
        assert list(store.list()) == []
        assert list(store.list_multipart()) == []

    # -- multipart -------------------------------------------------------------------------
    def test_create_multipart(self, store: BlobStore) -> None:
        before = datetime.now(UTC) - timedelta(seconds=2)
        mp = store.create_multipart("blobs/x")
        mp2 = store.create_multipart("blobs/x")
        assert mp != mp2
        assert store.list_parts("blobs/x", mp) == []
        listed = {m.multipart_id: m for m in store.list_multipart()}
        assert set(listed) == {mp, mp2}
        assert listed[mp].key == "blobs/x"
        assert before <= listed[mp].initiated <= datetime.now(UTC) + timedelta(seconds=2)
        assert store.stat("blobs/x") is None  # nothing visible until completed

    def test_parts_in_any_order(self, store: BlobStore) -> None:
        data = pattern(2500)
        bodies = {1: data[:1000], 2: data[1000:2000], 3: data[2000:]}
        mp = store.create_multipart("k")
        for n in (3, 1, 2):
            info = store.upload_part("k", mp, n, chunked(bodies[n], 64))
            assert info == PartInfo(n, len(bodies[n]), md5(bodies[n]))
        listed = store.list_parts("k", mp)
        assert listed == [PartInfo(n, len(bodies[n]), md5(bodies[n])) for n in (1, 2, 3)]
        obj = store.complete_multipart("k", mp, listed)
        assert self.read_all(store, "k") == data
        assert obj.size == len(data)

    def test_part_from_empty_and_single_chunk(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        assert store.upload_part("k", mp, 1, [b"whole part"]) == PartInfo(1, 10, md5(b"whole part"))
        assert store.upload_part("k", mp, 2, iter([])) == PartInfo(2, 0, md5(b""))
        assert [p.size for p in store.list_parts("k", mp)] == [10, 0]

    def test_reupload_replaces_part(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        store.upload_part("k", mp, 1, [b"first try, longer"])
        second = store.upload_part("k", mp, 1, [b"second"])
        assert store.list_parts("k", mp) == [second]
        store.upload_part("k", mp, 1, [b"second"])  # the same bytes again
        assert store.list_parts("k", mp) == [second]
        obj = store.complete_multipart("k", mp, [second])
        assert self.read_all(store, "k") == b"second"
        assert obj.size == 6

    def test_complete_gives_dandi_etag(self, store: BlobStore) -> None:
        data = pattern(3500)
        parts = dandischema_parts(len(data), SmallParts)
        assert [p.size for p in parts] == [1000, 1000, 1000, 500]
        mp, infos = self.upload(store, "blobs/e", data, parts, order_seed=3)
        obj = store.complete_multipart("blobs/e", mp, infos)
        assert obj.etag == dandischema_etag(data, SmallParts)
        assert obj.etag.endswith("-4")
        assert obj.size == len(data)
        assert store.stat("blobs/e") == obj
        assert self.read_all(store, "blobs/e") == data
        assert all(m.multipart_id != mp for m in store.list_multipart())
        with pytest.raises(KeyError):
            store.list_parts("blobs/e", mp)

    def test_single_part_etag_is_not_plain_md5(self, store: BlobStore) -> None:
        data = pattern(10)
        mp, infos = self.upload(store, "k", data, dandischema_parts(len(data)))
        obj = store.complete_multipart("k", mp, infos)
        assert obj.etag == dandischema_etag(data) == f"{md5(bytes.fromhex(md5(data)))}-1"
        assert obj.etag != md5(data)

    def test_complete_gives_dandi_etag_of_real_layout(self, store: BlobStore) -> None:
        # 64 MiB + 1 byte: the smallest blob that dandischema splits into two parts.
        data = pattern(64 * MiB + 1, seed=5)
        parts = dandischema_parts(len(data))
        assert [p.size for p in parts] == [64 * MiB, 1]
        mp, infos = self.upload(store, "blobs/big", data, parts, order_seed=1)
        obj = store.complete_multipart("blobs/big", mp, infos)
        assert obj.etag == dandischema_etag(data)
        assert obj.size == len(data)
        r = ByteRange(64 * MiB - 5, 64 * MiB + 1)
        assert self.read_all(store, "blobs/big", r) == data[r.start :]

    def test_complete_with_no_parts_makes_empty_object(self, store: BlobStore) -> None:
        mp = store.create_multipart("empty")
        obj = store.complete_multipart("empty", mp, [])
        assert obj.size == 0
        assert obj.etag == dandischema_etag(b"") == "d41d8cd98f00b204e9800998ecf8427e-0"
        assert self.read_all(store, "empty") == b""

    def test_complete_accepts_quoted_etags(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        info = store.upload_part("k", mp, 1, [b"abc"])
        obj = store.complete_multipart("k", mp, [PartInfo(1, 3, f'"{info.etag}"')])
        assert obj.etag == dandischema_etag(b"abc")

    def test_complete_with_wrong_etag(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        p1 = store.upload_part("k", mp, 1, [b"one"])
        p2 = store.upload_part("k", mp, 2, [b"two"])
        wrong = PartInfo(2, 3, md5(b"TWO"))
        with pytest.raises(ValueError, match="part 2"):
            store.complete_multipart("k", mp, [p1, wrong])
        assert store.stat("k") is None
        with pytest.raises(KeyError):
            store.read("k")
        # The upload survives a failed completion, so the client can fix it and retry.
        assert store.list_parts("k", mp) == [p1, p2]
        store.complete_multipart("k", mp, [p1, p2])
        assert self.read_all(store, "k") == b"onetwo"

    def test_complete_with_missing_part(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        p1 = store.upload_part("k", mp, 1, [b"one"])
        with pytest.raises(ValueError, match="part 2"):
            store.complete_multipart("k", mp, [p1, PartInfo(2, 3, md5(b"two"))])
        assert store.stat("k") is None
        assert list(store.list()) == []
        assert store.list_parts("k", mp) == [p1]

    def test_complete_unknown_upload(self, store: BlobStore) -> None:
        with pytest.raises(KeyError):
            store.complete_multipart("k", str(uuid.uuid4()), [])
        assert store.stat("k") is None

    def test_upload_is_bound_to_its_key(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        with pytest.raises(KeyError):
            store.upload_part("other", mp, 1, [b"x"])
        with pytest.raises(KeyError):
            store.list_parts("other", mp)
        with pytest.raises(KeyError):
            store.complete_multipart("other", mp, [])
        store.abort_multipart("other", mp)  # not this upload's key: nothing happens
        assert [m.multipart_id for m in store.list_multipart()] == [mp]

    @pytest.mark.parametrize(
        "multipart_id", ["", "nonsense", "3f2b7c1e-0d4a-4c56-9e8f-1a2b3c4d5e6f"]
    )
    def test_unknown_upload(self, store: BlobStore, multipart_id: str) -> None:
        with pytest.raises(KeyError):
            store.upload_part("k", multipart_id, 1, [b"x"])
        with pytest.raises(KeyError):
            store.list_parts("k", multipart_id)
        store.abort_multipart("k", multipart_id)

    @pytest.mark.parametrize("number", [0, -1, 10_001])
    def test_part_number_out_of_range(self, store: BlobStore, number: int) -> None:
        mp = store.create_multipart("k")
        with pytest.raises(ValueError, match=r"outside 1\.\.10000"):
            store.upload_part("k", mp, number, [b"x"])
        assert store.list_parts("k", mp) == []

    def test_part_numbers_at_limits(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        store.upload_part("k", mp, 10_000, [b"z"])
        store.upload_part("k", mp, 1, [b"a"])
        assert [p.part_number for p in store.list_parts("k", mp)] == [1, 10_000]

    def test_abort(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        keep = store.create_multipart("k2")
        store.upload_part("k", mp, 1, [b"x"])
        store.abort_multipart("k", mp)
        assert [m.multipart_id for m in store.list_multipart()] == [keep]
        with pytest.raises(KeyError):
            store.list_parts("k", mp)
        with pytest.raises(KeyError):
            store.upload_part("k", mp, 2, [b"y"])
        with pytest.raises(KeyError):
            store.complete_multipart("k", mp, [])
        assert store.stat("k") is None
        store.abort_multipart("k", mp)  # again: not an error

    def test_list_multipart(self, store: BlobStore) -> None:
        ids = {store.create_multipart(f"blobs/{i}"): f"blobs/{i}" for i in range(3)}
        done = next(iter(ids))
        store.complete_multipart(ids[done], done, [])
        listed = {m.multipart_id: m.key for m in store.list_multipart()}
        assert listed == {k: v for k, v in ids.items() if k != done}

    def test_multipart_leaves_existing_object_until_complete(self, store: BlobStore) -> None:
        store.put("k", b"old")
        mp = store.create_multipart("k")
        p = store.upload_part("k", mp, 1, [b"new bytes"])
        assert self.read_all(store, "k") == b"old"
        store.complete_multipart("k", mp, [p])
        assert self.read_all(store, "k") == b"new bytes"

    # -- concurrency -----------------------------------------------------------------------
    def test_concurrent_parts_from_threads(self, store: BlobStore) -> None:
        data = pattern(7 * 1000 + 321, seed=9)
        parts = dandischema_parts(len(data), SmallParts)
        assert len(parts) == 8
        mp = store.create_multipart("blobs/c")
        barrier = threading.Barrier(len(parts))

        def send(p: Part) -> PartInfo:
            def body() -> Iterator[bytes]:
                barrier.wait(timeout=10)  # all parts are in flight at once
                yield from chunked(data[p.offset : p.offset + p.size], 100)

            return store.upload_part("blobs/c", mp, p.number, body())

        with ThreadPoolExecutor(len(parts)) as pool:
            infos = list(pool.map(send, reversed(parts)))[::-1]
        assert store.list_parts("blobs/c", mp) == infos
        obj = store.complete_multipart("blobs/c", mp, infos)
        assert self.read_all(store, "blobs/c") == data
        assert obj.etag == dandischema_etag(data, SmallParts)

    def test_concurrent_tries_of_one_part(self, store: BlobStore) -> None:
        mp = store.create_multipart("k")
        bodies = [pattern(50_000, seed=i) for i in range(6)]
        barrier = threading.Barrier(len(bodies))

        def send(body: bytes) -> PartInfo:
            barrier.wait(timeout=10)
            return store.upload_part("k", mp, 1, chunked(body, 4096))

        with ThreadPoolExecutor(len(bodies)) as pool:
            infos = list(pool.map(send, bodies))
        listed = store.list_parts("k", mp)
        assert len(listed) == 1  # one try wins; none is lost and none is left over
        assert listed[0] in infos
        store.complete_multipart("k", mp, listed)
        assert self.read_all(store, "k") == bodies[infos.index(listed[0])]

    def test_concurrent_puts_and_reads(self, store: BlobStore) -> None:
        def work(i: int) -> None:
            for j in range(10):
                key = f"t{i}/{j}"
                body = pattern(1000 + j, seed=i)
                store.put(key, body)
                assert self.read_all(store, key) == body
                list(store.list(f"t{i}/"))

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(work, range(6)))
        assert len(list(store.list())) == 60

    # -- multipart with a part-size hint (parts may be written in place) --------------------
    def hinted_upload(
        self, store: BlobStore, key: str, data: bytes, *, order_seed: int = 0
    ) -> tuple[str, list[PartInfo]]:
        parts = dandischema_parts(len(data), SmallParts)
        mp = store.create_multipart(key, part_size=parts[0].size)
        shuffled = list(parts)
        random.Random(order_seed).shuffle(shuffled)
        infos = {}
        for p in shuffled:
            body = data[p.offset : p.offset + p.size]
            infos[p.number] = store.upload_part(key, mp, p.number, chunked(body, 333))
        return mp, [infos[p.number] for p in parts]

    @pytest.mark.parametrize("size", [1, 999, 1000, 1001, 7_500, 20_000])
    def test_hinted_parts_in_any_order(self, store: BlobStore, size: int) -> None:
        data = pattern(size, seed=size)
        mp, parts = self.hinted_upload(store, "blobs/h", data, order_seed=size)
        assert store.list_parts("blobs/h", mp) == parts
        info = store.complete_multipart("blobs/h", mp, parts)
        assert info.etag == dandischema_etag(data, SmallParts)
        assert info.size == size
        assert self.read_all(store, "blobs/h") == data
        assert list(store.list_multipart()) == []

    def test_hinted_retry_replaces_part(self, store: BlobStore) -> None:
        data = pattern(2_500)
        mp = store.create_multipart("k", part_size=1000)
        store.upload_part("k", mp, 1, [data[:1000]])
        store.upload_part("k", mp, 2, [pattern(1000, seed=9)])  # a bad try, then a good one
        second = store.upload_part("k", mp, 2, [data[1000:2000]])
        third = store.upload_part("k", mp, 3, [data[2000:]])
        listed = store.list_parts("k", mp)
        assert [p.etag for p in listed] == [md5(data[:1000]), second.etag, third.etag]
        store.complete_multipart("k", mp, listed)
        assert self.read_all(store, "k") == data

    def test_hinted_part_larger_than_part_size_is_refused(self, store: BlobStore) -> None:
        mp = store.create_multipart("k", part_size=1000)
        first = store.upload_part("k", mp, 1, [pattern(1000)])
        with pytest.raises(ValueError, match="larger than the upload's part size"):
            store.upload_part("k", mp, 2, chunked(pattern(1500, seed=1), 400))
        assert store.list_parts("k", mp) == [first]  # the oversized try left no part behind
        last = store.upload_part("k", mp, 2, [b"tail"])
        store.complete_multipart("k", mp, [first, last])
        assert self.read_all(store, "k") == pattern(1000) + b"tail"

    def test_hinted_complete_checks_the_layout(self, store: BlobStore) -> None:
        mp = store.create_multipart("k", part_size=1000)
        p1 = store.upload_part("k", mp, 1, [pattern(1000)])
        p2 = store.upload_part("k", mp, 2, [pattern(600, seed=2)])  # short, so it must be last
        p3 = store.upload_part("k", mp, 3, [pattern(10, seed=3)])
        with pytest.raises(ValueError, match="part 2 has 600 bytes"):
            store.complete_multipart("k", mp, [p1, p2, p3])
        with pytest.raises(ValueError, match=r"1\.\.N in order"):
            store.complete_multipart("k", mp, [p2, p1])
        with pytest.raises(ValueError, match="part 2 has ETag"):
            store.complete_multipart("k", mp, [p1, PartInfo(2, 1000, md5(b"x")), p3])
        other = store.create_multipart("k", part_size=1000)
        store.upload_part("k", other, 1, [pattern(1000)])
        with pytest.raises(ValueError, match="part 2 has not been uploaded"):
            store.complete_multipart("k", other, [p1, p2])
        assert store.stat("k") is None  # nothing appeared, and the upload goes on
        info = store.complete_multipart("k", mp, [p1, p2])
        assert info.size == 1600
        assert self.read_all(store, "k") == pattern(1000) + pattern(600, seed=2)

    def test_hinted_concurrent_tries_of_one_part(self, store: BlobStore) -> None:
        mp = store.create_multipart("k", part_size=50_000)
        bodies = [pattern(50_000, seed=i) for i in range(6)]
        barrier = threading.Barrier(len(bodies))

        def send(body: bytes) -> PartInfo:
            barrier.wait(timeout=10)
            return store.upload_part("k", mp, 1, chunked(body, 4096))

        with ThreadPoolExecutor(len(bodies)) as pool:
            infos = list(pool.map(send, bodies))
        listed = store.list_parts("k", mp)
        assert len(listed) == 1 and listed[0] in infos
        store.complete_multipart("k", mp, listed)
        assert self.read_all(store, "k") == bodies[infos.index(listed[0])]

    def test_hinted_abort(self, store: BlobStore) -> None:
        mp = store.create_multipart("k", part_size=1000)
        store.upload_part("k", mp, 1, [pattern(1000)])
        store.abort_multipart("k", mp)
        assert list(store.list_multipart()) == []
        with pytest.raises(KeyError):
            store.list_parts("k", mp)

    # -- embargo tags (``capabilities.embargo_tags``) ----------------------------------------
    def test_embargoed_upload_completes_like_any_other(self, store: BlobStore) -> None:
        """A store that tags gives the object its tag; the others ignore ``embargoed``."""
        mp = store.create_multipart("blobs/e", embargoed=True)
        part = store.upload_part("blobs/e", mp, 1, [b"embargoed bytes"])
        info = store.complete_multipart("blobs/e", mp, [part])
        assert (info.size, info.etag) == (15, etag_from_part_md5s([md5(b"embargoed bytes")]))
        assert self.read_all(store, "blobs/e") == b"embargoed bytes"

    def test_set_embargoed_needs_the_capability(self, store: BlobStore) -> None:
        store.put("a", b"x")
        if not store.capabilities.embargo_tags:
            with pytest.raises(StorageError, match="embargo_tags") as err:
                store.set_embargoed(["a"], embargoed=True)
            assert str(err.value)
            return
        store.set_embargoed(["a", "missing"], embargoed=True)  # a missing key is skipped
        store.set_embargoed(["a"], embargoed=True)  # twice: no change
        store.set_embargoed(["a"], embargoed=False)
        store.set_embargoed(["a"], embargoed=False)
        info = store.stat("a")
        assert info is not None and info.etag == md5(b"x")  # tags leave the object alone
        assert self.read_all(store, "a") == b"x"
