"""Checking a downloaded blob: its dandi-etag from the parts' md5s, and its sha256.

The md5s come from the connections as they write (see :mod:`neuropil.client._ranged`); the
sha256 needs the bytes in file order, so :class:`Sha256Pass` reads finished parts back from
the partial file while later parts are still downloading.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from neuropil.client._download_errors import DigestMismatch, Failed
from neuropil.client._partial import Partial
from neuropil.client.download_records import RemoteEntry
from neuropil.core.digests import etag_from_part_md5s


class Sha256Pass:
    """sha256 of the file, read back from disk part by part as the prefix completes.

    A thread of its own hashes finished parts in file order while later parts are still
    downloading, so no connection waits for it and little is left to hash at the end.
    A single-part blob is simply hashed at the end.
    """

    def __init__(self, partial: Partial, md5s: list[str | None], *, enabled: bool) -> None:
        self._partial = partial
        self._parts = partial.parts
        self._enabled = enabled
        self._md5s = md5s
        self._next = 0
        self._hash = hashlib.sha256()
        self._cond = threading.Condition()
        self._finishing = False
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._enabled and len(self._parts) > 1:
            self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
            self._thread.start()

    def part_done(self) -> None:
        with self._cond:
            self._cond.notify()

    def _ready(self) -> bool:
        return self._next < len(self._parts) and self._md5s[self._next] is not None

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._abandoned or self._finishing or self._ready())
                    if self._abandoned or not self._ready():
                        return
                self._hash_next()
        except BaseException as exc:  # reported by hexdigest()
            self._error = exc

    def _hash_next(self) -> None:
        part = self._parts[self._next]
        for chunk in self._partial.read(part.offset, part.size):
            self._hash.update(chunk)
        self._next += 1

    def _join(self, *, abandon: bool) -> None:
        with self._cond:
            self._finishing = True
            self._abandoned = self._abandoned or abandon
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def hexdigest(self) -> str:
        """The digest once every part is done (the caller guarantees that)."""
        self._join(abandon=False)
        if self._error is not None:
            raise Failed(f"could not read back the data: {self._error}")
        while self._ready():  # the single-part case, or parts the thread had not reached
            self._hash_next()
        return self._hash.hexdigest()

    def stop(self) -> None:
        """Stop reading: must happen before the partial file is closed."""
        self._join(abandon=True)


def verify(remote: RemoteEntry, md5s: Sequence[str | None], sha: Sha256Pass) -> None:
    """Raise :class:`DigestMismatch` unless the dandi-etag and any known sha256 match."""
    got = etag_from_part_md5s(m for m in md5s if m is not None)
    if got != remote.etag:
        raise DigestMismatch(
            f"dandi-etag mismatch: expected {remote.etag}, got {got}; "
            "the archive's copy may be damaged"
        )
    if remote.sha256:
        digest = sha.hexdigest()
        if digest != remote.sha256:
            raise DigestMismatch(f"sha256 mismatch: expected {remote.sha256}, got {digest}")
