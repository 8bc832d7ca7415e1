"""The local-filesystem store: the blob-store contract, plus its on-disk layout and crash safety."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from neuropil.storage import BlobStore, LocalBlobStore, PartInfo
from neuropil.testing.storage import BlobStoreContract, chunked, md5, pattern


class TestLocalBlobStore(BlobStoreContract):
    def make_store(self, tmp_path: Path) -> BlobStore:
        return LocalBlobStore(tmp_path / "store")


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "store")


def files_under(d: Path) -> list[str]:
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())


class Boom(Exception):
    pass


def breaks_after(data: bytes, n_chunks: int) -> Iterator[bytes]:
    """A request body whose connection drops after ``n_chunks`` chunks."""
    for i, chunk in enumerate(chunked(data, 1000)):
        if i == n_chunks:
            raise Boom("connection lost")
        yield chunk


# -- layout ----------------------------------------------------------------------------------
def test_objects_live_under_root_objects(store: LocalBlobStore) -> None:
    store.put("blobs/abc/def/abcdef", b"payload")
    path = store.root / "objects" / "blobs" / "abc" / "def" / "abcdef"
    assert path.read_bytes() == b"payload"
    assert store.local_path("blobs/abc/def/abcdef") == path
    assert (store.root / "meta" / "blobs/abc/def/abcdef.json").is_file()
    assert files_under(store.root / "tmp") == []


def test_multipart_layout(store: LocalBlobStore) -> None:
    mp = store.create_multipart("blobs/k")
    upload_dir = store.root / "multipart" / mp
    assert files_under(upload_dir) == ["upload.json"]
    p1 = store.upload_part("blobs/k", mp, 1, [b"one"])
    p2 = store.upload_part("blobs/k", mp, 2, [b"two"])
    assert files_under(upload_dir) == [f"00001.{p1.etag}", f"00002.{p2.etag}", "upload.json"]
    store.complete_multipart("blobs/k", mp, [p1, p2])
    assert not upload_dir.exists()
    assert store.local_path("blobs/k").read_bytes() == b"onetwo"
    assert files_under(store.root / "tmp") == []


def test_local_path_rejects_invalid_keys(store: LocalBlobStore) -> None:
    for key in ("../outside", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError, match="invalid object key"):
            store.local_path(key)


def test_state_survives_reopening(tmp_path: Path) -> None:
    first = LocalBlobStore(tmp_path / "store")
    first.put("kept", b"kept bytes")
    mp = first.create_multipart("later")
    p1 = first.upload_part("later", mp, 1, [b"part one "])

    again = LocalBlobStore(tmp_path / "store")  # a restarted server
    assert again.stat("kept") == first.stat("kept")
    assert [m.multipart_id for m in again.list_multipart()] == [mp]
    assert again.list_parts("later", mp) == [p1]
    p2 = again.upload_part("later", mp, 2, [b"part two"])
    obj = again.complete_multipart("later", mp, [p1, p2])
    assert b"".join(again.read("later")) == b"part one part two"
    assert obj.etag.endswith("-2")


def test_stray_files_in_upload_folder_are_not_parts(store: LocalBlobStore) -> None:
    mp = store.create_multipart("k")
    (store.root / "multipart" / mp / "notes.txt").write_text("not a part")
    (store.root / "multipart" / mp / "00003.short").write_text("not a part either")
    p1 = store.upload_part("k", mp, 1, [b"x"])
    assert store.list_parts("k", mp) == [p1]


# -- crash safety ----------------------------------------------------------------------------
def test_part_cut_short_is_invisible(store: LocalBlobStore) -> None:
    mp = store.create_multipart("k")
    with pytest.raises(Boom):
        store.upload_part("k", mp, 1, breaks_after(pattern(10_000), 4))
    assert store.list_parts("k", mp) == []
    assert files_under(store.root / "multipart" / mp) == ["upload.json"]
    assert files_under(store.root / "tmp") == []  # the half-written part is removed at once
    with pytest.raises(ValueError, match="part 1 has not been uploaded"):
        store.complete_multipart("k", mp, [PartInfo(1, 10_000, md5(pattern(10_000)))])
    assert store.stat("k") is None


def test_retry_cut_short_keeps_earlier_try(store: LocalBlobStore) -> None:
    mp = store.create_multipart("k")
    first = store.upload_part("k", mp, 1, [b"complete first try"])
    with pytest.raises(Boom):
        store.upload_part("k", mp, 1, breaks_after(pattern(10_000), 3))
    assert store.list_parts("k", mp) == [first]
    store.complete_multipart("k", mp, [first])
    assert b"".join(store.read("k")) == b"complete first try"


CRASH_MID_PART = textwrap.dedent(
    """
    import os, sys
    from neuropil.storage import LocalBlobStore

    store = LocalBlobStore(sys.argv[1])

    def body():
        yield b"x" * 100_000
        yield b"y" * 100_000
        os._exit(3)  # the process dies: no cleanup runs

    store.upload_part(sys.argv[2], sys.argv[3], 1, body())
    """
)


def test_process_crash_mid_part_leaves_only_a_temporary(store: LocalBlobStore) -> None:
    mp = store.create_multipart("blobs/k")
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_MID_PART, str(store.root), "blobs/k", mp],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr.decode()
    assert store.list_parts("blobs/k", mp) == []
    assert store.stat("blobs/k") is None
    leftovers = files_under(store.root / "tmp")
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")

    # Garbage collection removes temporaries older than its grace period, and only those.
    assert store.sweep_temporaries(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert files_under(store.root / "tmp") == leftovers
    assert store.sweep_temporaries(datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert files_under(store.root / "tmp") == []
    # The upload itself is untouched: the client can send the part again.
    assert [m.multipart_id for m in store.list_multipart()] == [mp]
    p1 = store.upload_part("blobs/k", mp, 1, [b"again"])
    assert store.list_parts("blobs/k", mp) == [p1]


def test_half_created_upload_is_ignored_and_swept(store: LocalBlobStore) -> None:
    # What a crash between creating an upload's folder and writing upload.json leaves.
    live = store.create_multipart("k")
    orphan = store.root / "multipart" / "0b5e4b0e-7c89-4d59-9d62-6f0a1c7b0c11"
    orphan.mkdir()
    assert [m.multipart_id for m in store.list_multipart()] == [live]
    assert store.sweep_temporaries(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert orphan.exists()
    assert store.sweep_temporaries(datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert not orphan.exists()
    assert [m.multipart_id for m in store.list_multipart()] == [live]  # live uploads stay


def test_object_is_published_whole(store: LocalBlobStore) -> None:
    # The object's path only ever holds complete contents: written elsewhere, then renamed.
    data = pattern(2_000_000)
    mp = store.create_multipart("k")
    p = store.upload_part("k", mp, 1, chunked(data, 65_536))
    assert not store.local_path("k").exists()
    store.complete_multipart("k", mp, [p])
    assert store.local_path("k").stat().st_size == len(data)
    assert md5(store.local_path("k").read_bytes()) == p.etag


# -- in-place multipart (part-size hint) -------------------------------------------------------
def test_in_place_upload_writes_bytes_once(store: LocalBlobStore) -> None:
    """With a hint, parts land in one file that completing renames: no second copy."""
    mp = store.create_multipart("blobs/k", part_size=1000)
    upload_dir = store.root / "multipart" / mp
    parts = [
        store.upload_part("blobs/k", mp, n, [pattern(1000 if n < 3 else 5, seed=n)])
        for n in (3, 1, 2)
    ]
    assert sorted(
        p.name for p in upload_dir.iterdir() if "." in p.name and "lock" not in p.name
    ) == [f"{p.part_number:05d}.{p.etag}" for p in sorted(parts, key=lambda p: p.part_number)] + [
        "upload.json"
    ]
    data_inode = (upload_dir / "data").stat().st_ino
    store.complete_multipart("blobs/k", mp, sorted(parts, key=lambda p: p.part_number))
    assert store.local_path("blobs/k").stat().st_ino == data_inode
    assert not upload_dir.exists()
    assert files_under(store.root / "tmp") == []


def test_in_place_broken_try_unmarks_the_part(store: LocalBlobStore) -> None:
    """A try that dies mid-part removes the old marker first: the region is never claimed
    while it holds a mix of two tries."""
    mp = store.create_multipart("k", part_size=5000)
    store.upload_part("k", mp, 1, [pattern(5000)])
    with pytest.raises(Boom):
        store.upload_part("k", mp, 1, breaks_after(pattern(5000, seed=1), 2))
    assert store.list_parts("k", mp) == []
    good = store.upload_part("k", mp, 1, [pattern(5000, seed=1)])
    store.complete_multipart("k", mp, [good])
    assert store.local_path("k").read_bytes() == pattern(5000, seed=1)


def test_in_place_complete_repeated_after_crash(store: LocalBlobStore) -> None:
    """A crash between moving the data into place and removing the upload folder: the
    repeated complete finds the object already there and answers it."""
    mp = store.create_multipart("k", part_size=1000)
    p1 = store.upload_part("k", mp, 1, [b"abc"])
    upload_dir = store.root / "multipart" / mp
    keep = store.root / "keep"
    shutil.copytree(upload_dir, keep)
    first = store.complete_multipart("k", mp, [p1])
    shutil.copytree(keep, upload_dir)
    (upload_dir / "data").unlink()  # as if the rename had happened before the crash
    assert store.complete_multipart("k", mp, [p1]) == first
    assert not upload_dir.exists()


# -- an object's bytes and its ETag ------------------------------------------------------------
CRASH_AFTER_BYTES = textwrap.dedent(
    """
    import os, sys
    from neuropil.storage import LocalBlobStore, local

    real = local.publish_file

    def publish_then_die(tmp, final):
        real(tmp, final)
        os._exit(3)  # the bytes are in place; their md5 never gets written

    local.publish_file = publish_then_die
    LocalBlobStore(sys.argv[1]).put(sys.argv[2], b"new bytes, same key")
    """
)


def test_crash_between_bytes_and_md5_reads_the_new_md5(store: LocalBlobStore) -> None:
    """A Zarr key rewritten: the process dies once the new bytes are in place, before their
    md5 is recorded. The old md5 must never describe the new bytes."""
    store.put("zarr/z/0.0", b"old bytes")
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_BYTES, str(store.root), "zarr/z/0.0"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr.decode()
    fresh = LocalBlobStore(store.root)
    info = fresh.stat("zarr/z/0.0")
    assert info is not None and info.etag == md5(b"new bytes, same key")
    assert [(i.key, i.etag) for i in fresh.list("zarr/")] == [("zarr/z/0.0", info.etag)]
    # The md5 is recorded again: the next read trusts it.
    meta = (store.root / "meta" / "zarr/z/0.0.json").read_text()
    assert info.etag in meta


def test_stale_or_missing_md5_is_computed_again(store: LocalBlobStore) -> None:
    meta = store.root / "meta" / "k.json"
    store.put("k", b"first")
    stale = meta.read_bytes()
    written = store.put("k", b"second, longer")
    meta.write_bytes(stale)  # the md5 of other bytes (another inode, size and time)
    assert store.stat("k") == written
    meta.unlink()
    info = store.stat("k")
    assert info is not None and info.etag == md5(b"second, longer")
    meta.write_text("{not json")
    assert store.stat("k") == info
    assert [i.etag for i in store.list()] == [info.etag]


def test_multipart_etag_is_written_before_its_bytes(store: LocalBlobStore) -> None:
    """A dandi-etag cannot be computed from the bytes: it is durable before they appear,
    and trusted for them even where the inode changed (a store restored from a copy)."""
    mp = store.create_multipart("blobs/k")
    p = store.upload_part("blobs/k", mp, 1, [b"part one"])
    done = store.complete_multipart("blobs/k", mp, [p])
    assert done.etag.endswith("-1")
    copy = store.root / "objects" / "blobs" / "k.copy"
    shutil.copy2(store.local_path("blobs/k"), copy)
    copy.replace(store.local_path("blobs/k"))  # new inode, same bytes
    assert store.stat("blobs/k") == done


def test_metadata_of_older_stores_is_trusted(store: LocalBlobStore) -> None:
    store.put("blobs/a", b"bytes")
    (store.root / "meta" / "blobs/a.json").write_text(
        '{"etag": "0123456789abcdef0123456789abcdef"}'
    )
    info = store.stat("blobs/a")
    assert info is not None and info.etag == "0123456789abcdef0123456789abcdef"


def test_a_page_opens_only_its_folders(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for row in range(5):
        for col in range(3):
            store.put(f"zarr/z/{row}/{col}", b"x")
    opened: list[str] = []
    real = os.scandir

    def scandir(path: str) -> object:
        opened.append(Path(path).relative_to(store.root / "objects").as_posix())
        return real(path)

    monkeypatch.setattr("neuropil.storage.local.os.scandir", scandir)
    page = [i.key for i in itertools.islice(store.list("zarr/z/", start_after="zarr/z/3/0"), 3)]
    assert page == ["zarr/z/3/1", "zarr/z/3/2", "zarr/z/4/0"]
    assert opened == ["zarr/z", "zarr/z/3", "zarr/z/4"]
