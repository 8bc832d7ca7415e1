"""Progress events shared by the transfer engines (download and upload).

A caller passes one callback; the engines call it with these records, one at a time (never
concurrently), so a progress bar or a JSON event stream needs no locking of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class FileStarted:
    """A transfer began; ``resumed`` bytes were already in place from an earlier run
    (on disk for a download, on the server for an upload)."""

    path: str
    size: int
    resumed: int = 0


@dataclass(frozen=True)
class BytesDone:
    """``n`` more bytes of ``path`` went over the network (throttled, never cumulative)."""

    path: str
    n: int


@dataclass(frozen=True)
class FileDone:
    """A file finished: transferred, skipped by the ``existing`` policy, or failed.

    ``message`` says why a file was skipped or failed, with every reason.
    """

    path: str
    status: Status
    message: str = ""


ProgressEvent = FileStarted | BytesDone | FileDone
ProgressCallback = Callable[[ProgressEvent], None]


#: BytesDone events are throttled to one per MiB or per 0.1 s, whichever comes first.
PROGRESS_BYTES = 1 << 20
PROGRESS_SECONDS = 0.1


class Emitter:
    """Serializes calls to the user's callback, so it need not be thread-safe itself."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(event)


class ByteCounter:
    """Per-file byte counter that emits :class:`BytesDone`, throttled; ``total`` is exact."""

    def __init__(self, path: str, emit: Emitter) -> None:
        self._path = path
        self._emit = emit
        self._lock = threading.Lock()
        self._pending = 0
        self._last = time.monotonic()
        self.total = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._pending += n
            self.total += n
            now = time.monotonic()
            if self._pending < PROGRESS_BYTES and now - self._last < PROGRESS_SECONDS:
                return
            pending, self._pending, self._last = self._pending, 0, now
        self._emit(BytesDone(self._path, pending))

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, 0
        if pending:
            self._emit(BytesDone(self._path, pending))
