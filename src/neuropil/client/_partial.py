"""The partial download: ``<target>.npdownload`` plus its JSON record of finished ranges.

The data file is sparse and full size from the start; each connection writes its own parts
into it. The sidecar ``<target>.npdownload.json`` lists, per dandi-etag part, the length of
its finished prefix, and is written only after the data is synced, so it never claims bytes
that a crash could lose. An advisory lock keeps two processes off one partial file, and the
verified data is renamed over the target in one step.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from neuropil.client._download_errors import Failed
from neuropil.client._localfs import fdatasync, fsync_dir, timestamp, write_atomic
from neuropil.client.download_records import RemoteEntry
from neuropil.core.digests import Part

try:  # an advisory lock keeps two processes from writing one partial file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PARTIAL_SUFFIX = ".npdownload"
STATE_SUFFIX = ".npdownload.json"
#: Below this size a partial is not worth a sidecar: a re-run simply starts over.
SIDECAR_MIN = 4 << 20
SAVE_INTERVAL = 2.0
READ_CHUNK = 4 << 20


class Partial:
    """``<target>.npdownload`` (sparse, full size) plus the JSON record of finished ranges.

    Progress is tracked per dandi-etag part as the length of its finished prefix, so a
    resumed part is re-hashed locally up to that point and continued over the network.
    """

    def __init__(self, target: Path, remote: RemoteEntry, parts: list[Part]) -> None:
        self.data_path = target.with_name(target.name + PARTIAL_SUFFIX)
        self.state_path = target.with_name(target.name + STATE_SUFFIX)
        self.remote = remote
        self.parts = parts
        self.done = [0] * len(parts)
        self.fd = -1
        self._sidecar = remote.size >= SIDECAR_MIN
        self._lock = threading.Lock()
        self._saved = time.monotonic()

    def open(self) -> int:
        """Open (or start) the partial file; returns how many bytes a previous run left."""
        self.fd = os.open(self.data_path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self.close()
                raise Failed(f"{self.data_path} is in use by another download") from exc
        if not self._load():
            self._reset()
        return sum(self.done)

    def _load(self) -> bool:
        """Adopt the previous run's progress if it was for the same content (size + etag)."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return False
        same = (
            isinstance(state, dict)
            and state.get("version") == 1
            and state.get("size") == self.remote.size
            and state.get("etag") == self.remote.etag
            and os.fstat(self.fd).st_size == self.remote.size
        )
        if not same:
            return False
        self._adopt(state.get("ranges"))
        return True

    def _adopt(self, ranges: object) -> None:
        """Take the recorded per-part prefixes; anything else is not ours to trust."""
        starts = {p.offset: i for i, p in enumerate(self.parts)}
        for item in ranges if isinstance(ranges, list) else []:
            match item:
                case [int() as start, int() as stop] if start in starts:
                    i = starts[start]
                    if start <= stop <= start + self.parts[i].size:
                        self.done[i] = stop - start

    def _reset(self) -> None:
        os.ftruncate(self.fd, 0)  # drop stale bytes, then grow sparse to the final size
        os.ftruncate(self.fd, self.remote.size)
        self.done = [0] * len(self.parts)
        self.state_path.unlink(missing_ok=True)

    def read(self, offset: int, length: int) -> Iterator[bytes]:
        """The bytes of ``[offset, offset + length)`` as written so far, in chunks."""
        stop = offset + length
        while offset < stop:
            chunk = os.pread(self.fd, min(READ_CHUNK, stop - offset), offset)
            if not chunk:
                raise Failed("the partial file is shorter than its record says")
            offset += len(chunk)
            yield chunk

    def write(self, index: int, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``, the end of part ``index``'s finished prefix."""
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, offset)
            view, offset = view[n:], offset + n
        self.done[index] += len(data)  # one connection owns a part at a time: no lock needed

    def save(self, *, force: bool) -> None:
        """Record finished ranges; data is synced first so the record never claims more."""
        if not self._sidecar or self.fd < 0:
            return
        if not self._lock.acquire(blocking=force):
            return  # another connection is saving right now; a later save covers us
        try:
            now = time.monotonic()
            if not force and now - self._saved < SAVE_INTERVAL:
                return
            self._saved = now
            state = self._state()  # taken before the sync: it may claim only synced bytes
            fdatasync(self.fd)
            write_atomic(self.state_path, json.dumps(state, indent=1).encode())
        finally:
            self._lock.release()

    def _state(self) -> dict[str, object]:
        ranges = [[p.offset, p.offset + d] for p, d in zip(self.parts, self.done, strict=True) if d]
        return {
            "version": 1,
            "size": self.remote.size,
            "etag": self.remote.etag,
            "sha256": self.remote.sha256,
            "url": self.remote.download_url,
            "ranges": ranges,
        }

    def keep(self) -> None:
        """Record the progress for a re-run; a failing save must not hide the real error."""
        if not self._sidecar:
            self.discard()  # too small to resume: starting over costs nothing
            return
        with contextlib.suppress(OSError):
            self.save(force=True)
        self.close()

    def commit(self, target: Path) -> None:
        """Move the verified data over the target: fsync, mtime, atomic rename."""
        os.fsync(self.fd)
        self.close()
        if self.remote.modified is not None:
            os.utime(self.data_path, (time.time(), timestamp(self.remote.modified)))
        os.replace(self.data_path, target)
        fsync_dir(target.parent)
        self.state_path.unlink(missing_ok=True)

    def discard(self) -> None:
        self.data_path.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
