"""Local-filesystem blob store: the embedded default.

Layout under ``root``::

    objects/<key>                 object bytes (their presence is the commit point)
    meta/<key>.json               {"etag", "size", "ino", "mtime_ns"}: the ETag of the bytes
                                  whose inode, size and time it names
    multipart/<id>/upload.json    the upload's key and start time
    multipart/<id>/<NNNNN>.<md5>  one fully received part (the md5 is its ETag)
    multipart/<id>/data           with a part-size hint: parts written in place (_inplace.py)
    tmp/                          temporary files, renamed into place once fsynced

Every object becomes visible by an atomic rename after ``fsync``, so a crash at any moment
leaves either the old bytes or the new ones, plus temporary files that garbage collection
removes.

Bytes and ETag cannot be renamed into place together, so the ETag names the bytes it belongs
to (inode, size, modification time; a rename keeps all three) and a reader trusts it only
for those bytes. A plain object's ETag is their md5: it is written *after* the bytes, as a
cache, and a reader that finds it missing or naming other bytes (a crash in between, a key
rewritten meanwhile) hashes the bytes again. A multipart ETag cannot be recomputed from the
bytes, so it is written durably *before* them; multipart objects are blobs, never rewritten,
so such an ETag is the object's even when it names other bytes (a store copied elsewhere has
new inodes). Metadata from before names no bytes and is trusted as it is.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import shutil
import stat as stat_mode
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from neuropil.core.digests import etag_from_part_md5s
from neuropil.core.ranges import ByteRange
from neuropil.storage import _inplace
from neuropil.storage._fs import fsync_dir, publish_file, temp_path, write_durably
from neuropil.storage._layout import check_parts
from neuropil.storage.base import (
    BlobStore,
    MultipartInfo,
    ObjectInfo,
    PartInfo,
    StoreCapabilities,
    validate_key,
)

READ_CHUNK = 1 << 20
#: What opening or removing a key that is not an object raises: the path is missing, is a
#: folder (the key is a prefix of other keys) or runs through a file (the key extends one).
_NOT_AN_OBJECT = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _check_multipart_id(multipart_id: str) -> str:
    try:
        return str(uuid.UUID(multipart_id))
    except ValueError as exc:
        raise KeyError(multipart_id) from exc


class LocalBlobStore(BlobStore):
    """Objects as files under one directory."""

    # No embargo tags: nobody reads these files but neuropil, whose ``/store/`` endpoints
    # check every read against the embargo (``services.visibility.publicly_readable``).
    capabilities = StoreCapabilities(local_files=True, embargo_tags=False)

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._multipart = self.root / "multipart"
        self._tmp = self.root / "tmp"
        for d in (self._objects, self._meta, self._multipart, self._tmp):
            d.mkdir(parents=True, exist_ok=True)

    # -- helpers ---------------------------------------------------------------------------
    def local_path(self, key: str) -> Path:
        """Where the bytes of ``key`` live (the API serves them straight from disk)."""
        return self._objects / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{validate_key(key)}.json"

    def _write_meta(self, key: str, etag: str, st: os.stat_result, *, durable: bool) -> None:
        """Record ``etag`` as the ETag of the bytes ``st`` describes (see the module)."""
        target = self._meta_path(key)
        data = json.dumps(
            {"etag": etag, "size": st.st_size, "ino": st.st_ino, "mtime_ns": st.st_mtime_ns}
        ).encode()
        if durable:
            write_durably(self._tmp, target, data)
            return
        # Written in place, not even atomically: a reader that finds it cut short (or mixed
        # with a concurrent write of the same key) cannot parse it, or finds it naming other
        # bytes, and hashes the bytes again. One small write, no temporary, no rename.
        try:
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError:  # a key being deleted meanwhile: the next reader hashes the bytes
            pass

    def _etag(self, key: str, path: str, st: os.stat_result) -> tuple[str, os.stat_result]:
        """The ETag of the bytes at ``path`` (``st``: their stat), hashed again unless the
        metadata names these bytes; returns it with the stat of the bytes it belongs to."""
        try:
            with open(os.path.join(self._meta, key + ".json"), "rb") as f:
                meta = json.loads(f.read())
            etag = meta["etag"]
        except (OSError, ValueError, KeyError, TypeError):
            return self._rehash(key, path)
        if "ino" not in meta or "-" in etag:  # from before, or multipart (see the module)
            return etag, st
        if (meta["ino"], meta["size"], meta["mtime_ns"]) == (
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
        ):
            return etag, st
        return self._rehash(key, path)

    def _rehash(self, key: str, path: str) -> tuple[str, os.stat_result]:
        """The md5 of the bytes at ``path``, recorded as their ETag. ``OSError`` if gone."""
        md5 = hashlib.md5()
        with open(path, "rb") as f:  # the fd's stat: the bytes hashed, whatever the path holds
            st = os.fstat(f.fileno())
            while block := f.read(READ_CHUNK):
                md5.update(block)
        etag = md5.hexdigest()
        self._write_meta(key, etag, st, durable=False)
        return etag, st

    def _info(self, key: str, path: str, st: os.stat_result) -> ObjectInfo | None:
        try:
            etag, st = self._etag(key, path, st)
        except _NOT_AN_OBJECT:
            return None
        return ObjectInfo(key, st.st_size, etag, datetime.fromtimestamp(st.st_mtime, UTC))

    def _upload_dir(self, multipart_id: str) -> Path:
        return self._multipart / _check_multipart_id(multipart_id)

    def _load_upload(self, key: str, multipart_id: str) -> Path:
        return self._load_upload_info(key, multipart_id)[0]

    def _load_upload_info(self, key: str, multipart_id: str) -> tuple[Path, int | None]:
        """The upload's folder and its part-size hint (``None``: parts kept apart)."""
        d = self._upload_dir(multipart_id)
        try:
            info = json.loads((d / "upload.json").read_text())
        except FileNotFoundError as exc:
            raise KeyError(f"no multipart upload {multipart_id}") from exc
        if info["key"] != key:
            raise KeyError(f"multipart upload {multipart_id} is not for {key}")
        part_size = info.get("part_size")
        return d, int(part_size) if part_size else None

    # -- objects ---------------------------------------------------------------------------
    def stat(self, key: str) -> ObjectInfo | None:
        path = str(self.local_path(key))
        try:
            st = os.stat(path)
        except _NOT_AN_OBJECT:
            return None
        if not stat_mode.S_ISREG(st.st_mode):  # a folder: the key is a prefix of others
            return None
        return self._info(key, path, st)

    def read(self, key: str, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        path = self.local_path(key)
        try:
            f = path.open("rb")
        except _NOT_AN_OBJECT as exc:
            raise KeyError(key) from exc
        return self._read_chunks(f, byte_range)

    @staticmethod
    def _read_chunks(f: object, byte_range: ByteRange | None) -> Iterator[bytes]:
        import io

        assert isinstance(f, io.BufferedReader)
        with f:
            if byte_range is not None:
                f.seek(byte_range.start)
                remaining = byte_range.length
            else:
                remaining = -1
            while remaining != 0:
                n = READ_CHUNK if remaining < 0 else min(READ_CHUNK, remaining)
                chunk = f.read(n)
                if not chunk:
                    return
                if remaining > 0:
                    remaining -= len(chunk)
                yield chunk

    def put(self, key: str, data: bytes) -> ObjectInfo:
        return self.put_chunks(key, [data])

    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> ObjectInfo:
        """Stream to a temporary file (never whole in memory), rename it into place, then
        record its md5 (see the module: a reader hashes the bytes again if that is lost)."""
        target = self.local_path(key)
        md5 = hashlib.md5()
        tmp = temp_path(self._tmp, "put-")
        try:
            with tmp.open("wb") as f:
                for chunk in chunks:
                    md5.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
                st = os.fstat(f.fileno())
            publish_file(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        etag = md5.hexdigest()
        self._write_meta(key, etag, st, durable=False)
        return ObjectInfo(key, st.st_size, etag, datetime.fromtimestamp(st.st_mtime, UTC))

    def delete(self, key: str) -> None:
        for p, top in ((self.local_path(key), self._objects), (self._meta_path(key), self._meta)):
            with contextlib.suppress(*_NOT_AN_OBJECT):
                p.unlink()
            # Folders left empty go too: key ``a`` may be written after ``a/b`` is deleted
            # (Zarr keys), as on S3, where folders do not exist.
            for parent in p.parents:
                if parent == top or not parent.is_relative_to(top):
                    break
                try:
                    parent.rmdir()
                except OSError:  # not empty (or gone): the folders above are not empty
                    break

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        """Folders walked in key order, from the one the prefix's complete segments name
        (``zarr/<id>/0/``); folders wholly before ``start_after`` or outside the prefix are
        never opened, so a page of a large Zarr reads only its own files."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        if folder and {"", ".", ".."} & set(folder.split("/")):
            return  # no key has such a folder
        top = os.path.join(self._objects, folder) if folder else str(self._objects)
        yield from self._walk(top, folder + "/" if folder else "", prefix, start_after)

    def _walk(self, d: str, rel: str, prefix: str, start_after: str) -> Iterator[ObjectInfo]:
        try:
            with os.scandir(d) as it:
                # A folder sorts as ``name/``: its keys come after ``name-x`` and before
                # ``name0`` ('-' < '/' < '0'), so the walk yields keys in key order.
                entries = sorted(
                    (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e) for e in it
                )
        except (FileNotFoundError, NotADirectoryError):
            return
        for name, entry in entries:
            key = rel + name
            if name.endswith("/"):
                if _may_hold(key, prefix, start_after):
                    yield from self._walk(entry.path, key, prefix, start_after)
            elif key > start_after and key.startswith(prefix):
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # deleted meanwhile
                    continue
                info = self._info(key, entry.path, st)
                if info is not None:
                    yield info

    # -- multipart -------------------------------------------------------------------------
    def create_multipart(
        self, key: str, *, part_size: int | None = None, embargoed: bool = False
    ) -> str:
        validate_key(key)
        if part_size is not None and part_size < 1:
            raise ValueError(f"part size {part_size} must be positive")
        multipart_id = str(uuid.uuid4())
        d = self._upload_dir(multipart_id)
        d.mkdir(parents=True)
        info: dict[str, object] = {"key": key, "initiated": datetime.now(UTC).isoformat()}
        if part_size is not None:
            info["part_size"] = part_size
            _inplace.create(d)
        # upload.json last: a folder without it is a half-created upload that GC removes.
        write_durably(self._tmp, d / "upload.json", json.dumps(info).encode())
        return multipart_id

    def upload_part(
        self, key: str, multipart_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        d, part_size = self._load_upload_info(key, multipart_id)
        if not 1 <= part_number <= 10_000:
            raise ValueError(f"part number {part_number} is outside 1..10000")
        if part_size is not None:
            return _inplace.write_part(d, self._tmp, part_number, part_size, chunks)
        md5 = hashlib.md5()
        size = 0
        tmp = temp_path(self._tmp, f"part-{part_number}-")
        try:
            with tmp.open("wb") as f:
                for chunk in chunks:
                    md5.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            etag = md5.hexdigest()
            publish_file(tmp, d / f"{part_number:05d}.{etag}")
        finally:
            tmp.unlink(missing_ok=True)
        # Drop every other try of this part but the newest. Concurrent tries of one part all
        # agree on which file is newest, so exactly one survives (the last one written).
        tries = self._tries(d, part_number)
        for _, old in tries[:-1]:
            old.unlink(missing_ok=True)
        return PartInfo(part_number, size, etag)

    @staticmethod
    def _tries(d: Path, part_number: int) -> builtins.list[tuple[tuple[int, str], Path]]:
        """The files of one part number, oldest first (by mtime, then name)."""
        tries = []
        for p in d.glob(f"{part_number:05d}.*"):
            try:
                tries.append(((p.stat().st_mtime_ns, p.name), p))
            except FileNotFoundError:  # removed by a concurrent try
                continue
        return sorted(tries)

    def _arrived(self, d: Path) -> dict[int, tuple[Path, PartInfo]]:
        parts: dict[int, tuple[Path, PartInfo, tuple[int, str]]] = {}
        for p in d.iterdir():
            num, _, etag = p.name.partition(".")
            if not (num.isdigit() and len(etag) == 32):
                continue
            try:
                st = p.stat()
            except FileNotFoundError:  # an older try, removed meanwhile
                continue
            order = (st.st_mtime_ns, p.name)
            n = int(num)
            if n not in parts or parts[n][2] < order:
                parts[n] = (p, PartInfo(n, st.st_size, etag), order)
        return {n: (p, info) for n, (p, info, _) in parts.items()}

    def list_parts(self, key: str, multipart_id: str) -> builtins.list[PartInfo]:
        d, part_size = self._load_upload_info(key, multipart_id)
        if part_size is not None:
            return [info for _, info in sorted(_inplace.arrived(d).items())]
        return [info for _, (_, info) in sorted(self._arrived(d).items())]

    def complete_multipart(
        self, key: str, multipart_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        d, part_size = self._load_upload_info(key, multipart_id)
        if part_size is not None:
            return self._complete_in_place(key, d, part_size, parts)
        arrived = self._arrived(d)
        check_parts({n: info for n, (_, info) in arrived.items()}, parts, None)
        files = [arrived[p.part_number][0] for p in parts]
        etag = etag_from_part_md5s([p.etag.strip('"') for p in parts])
        tmp = temp_path(self._tmp, "assemble-")
        try:
            with tmp.open("wb") as out:
                for src in files:
                    with src.open("rb") as inp:
                        shutil.copyfileobj(inp, out, 8 << 20)
                out.flush()
                os.fsync(out.fileno())
                # Before the bytes: a multipart ETag cannot be computed again from them.
                self._write_meta(key, etag, os.fstat(out.fileno()), durable=True)
            publish_file(tmp, self.local_path(key))
        finally:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(d, ignore_errors=True)
        info = self.stat(key)
        assert info is not None
        return info

    def _complete_in_place(
        self, key: str, d: Path, part_size: int, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        etag = etag_from_part_md5s([p.etag.strip('"') for p in parts])
        if not (d / _inplace.DATA).exists():
            # A crash (or a concurrent complete) moved the data into place already.
            done = self.stat(key)
            if done is not None and done.etag == etag:
                shutil.rmtree(d, ignore_errors=True)
                return done
            raise ValueError("the upload's data is gone; start the upload again")
        data = _inplace.assemble(d, part_size, parts)
        self._write_meta(key, etag, data.stat(), durable=True)
        publish_file(data, self.local_path(key))
        shutil.rmtree(d, ignore_errors=True)
        info = self.stat(key)
        assert info is not None
        return info

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        try:
            d = self._load_upload(key, multipart_id)
        except KeyError:
            return
        shutil.rmtree(d, ignore_errors=True)
        fsync_dir(self._multipart)

    def list_multipart(self) -> Iterator[MultipartInfo]:
        for d in sorted(self._multipart.iterdir()):
            try:
                info = json.loads((d / "upload.json").read_text())
            except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
                continue
            yield MultipartInfo(info["key"], d.name, datetime.fromisoformat(info["initiated"]))

    # -- housekeeping ----------------------------------------------------------------------
    def sweep_temporaries(self, older_than: datetime) -> int:
        """Remove temporary files and half-created upload folders left by a crash."""
        removed = 0
        cutoff = older_than.timestamp()
        for p in self._tmp.iterdir():
            if _older(p, cutoff):
                p.unlink(missing_ok=True)
                removed += 1
        for d in self._multipart.iterdir():
            if not (d / "upload.json").exists() and _older(d, cutoff):
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        return removed


def _may_hold(folder: str, prefix: str, start_after: str) -> bool:
    """Whether the folder ``folder`` (ending in ``/``) may hold keys that start with
    ``prefix`` and sort after ``start_after``. Every key in it starts with ``folder``, so it
    holds none after a ``start_after`` that sorts after ``folder`` but does not start with it."""
    if not (folder.startswith(prefix) or prefix.startswith(folder)):
        return False
    return start_after < folder or start_after.startswith(folder)


def _older(path: Path, cutoff: float) -> bool:
    """Whether ``path`` was last modified before ``cutoff``; a path that just went away (a
    temporary renamed into place, an upload completed meanwhile) is not."""
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
