"""In-memory blob store for tests: the same contract, no disk."""

from __future__ import annotations

import builtins
import hashlib
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from neuropil.core.digests import etag_from_part_md5s
from neuropil.core.ranges import ByteRange
from neuropil.storage._layout import check_part_fits, check_parts
from neuropil.storage.base import (
    BlobStore,
    MultipartInfo,
    ObjectInfo,
    PartInfo,
    validate_key,
)


class MemoryBlobStore(BlobStore):
    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, ObjectInfo]] = {}
        self._uploads: dict[str, tuple[str, datetime, dict[int, tuple[bytes, PartInfo]]]] = {}
        self._part_sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def stat(self, key: str) -> ObjectInfo | None:
        entry = self._objects.get(validate_key(key))
        return entry[1] if entry else None

    def read(self, key: str, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        entry = self._objects.get(validate_key(key))
        if entry is None:
            raise KeyError(key)
        data = entry[0]
        if byte_range is not None:
            data = data[byte_range.start : byte_range.stop]
        return iter([data] if data else [])

    def _store(self, key: str, data: bytes, etag: str) -> ObjectInfo:
        info = ObjectInfo(key, len(data), etag, datetime.now(UTC))
        with self._lock:
            self._objects[key] = (data, info)
        return info

    def put(self, key: str, data: bytes) -> ObjectInfo:
        return self._store(validate_key(key), bytes(data), hashlib.md5(data).hexdigest())

    def delete(self, key: str) -> None:
        validate_key(key)
        with self._lock:
            self._objects.pop(key, None)

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        with self._lock:  # a snapshot: other threads may change the store while we yield
            infos = sorted((k, info) for k, (_, info) in self._objects.items())
        for key, info in infos:
            if key.startswith(prefix) and key > start_after:
                yield info

    def create_multipart(
        self, key: str, *, part_size: int | None = None, embargoed: bool = False
    ) -> str:
        # Parts are kept apart in memory; the hint is only checked, as the contract says.
        validate_key(key)
        multipart_id = str(uuid.uuid4())
        with self._lock:
            self._uploads[multipart_id] = (key, datetime.now(UTC), {})
            if part_size is not None:
                self._part_sizes[multipart_id] = part_size
        return multipart_id

    def _upload(self, key: str, multipart_id: str) -> dict[int, tuple[bytes, PartInfo]]:
        entry = self._uploads.get(multipart_id)
        if entry is None or entry[0] != key:
            raise KeyError(f"no multipart upload {multipart_id} for {key}")
        return entry[2]

    def upload_part(
        self, key: str, multipart_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        parts = self._upload(key, multipart_id)
        if not 1 <= part_number <= 10_000:
            raise ValueError(f"part number {part_number} is outside 1..10000")
        data = b"".join(chunks)
        check_part_fits(part_number, len(data), self._part_sizes.get(multipart_id))
        info = PartInfo(part_number, len(data), hashlib.md5(data).hexdigest())
        with self._lock:
            parts[part_number] = (data, info)
        return info

    def list_parts(self, key: str, multipart_id: str) -> builtins.list[PartInfo]:
        return [info for _, (_, info) in sorted(self._upload(key, multipart_id).items())]

    def complete_multipart(
        self, key: str, multipart_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        arrived = self._upload(key, multipart_id)
        infos = {n: info for n, (_, info) in arrived.items()}
        check_parts(infos, parts, self._part_sizes.get(multipart_id))
        chunks = [arrived[p.part_number][0] for p in parts]
        info = self._store(
            key, b"".join(chunks), etag_from_part_md5s([p.etag.strip('"') for p in parts])
        )
        with self._lock:
            self._uploads.pop(multipart_id, None)
            self._part_sizes.pop(multipart_id, None)
        return info

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        with self._lock:
            entry = self._uploads.get(multipart_id)
            if entry is not None and entry[0] == key:
                del self._uploads[multipart_id]
                self._part_sizes.pop(multipart_id, None)

    def list_multipart(self) -> Iterator[MultipartInfo]:
        with self._lock:
            uploads = sorted((mp_id, key, at) for mp_id, (key, at, _) in self._uploads.items())
        for mp_id, key, initiated in uploads:
            yield MultipartInfo(key, mp_id, initiated)
