"""A bounded number of password hashes at a time.

One Argon2id hash takes 64 MiB and about a fifth of a second of a core; fifty sign-ins at
once would take 3 GiB and every core. :class:`HashGate` admits ``slots`` hashes at once
(half the cores, at most two, so the rest of the archive keeps a core); up to ``queue``
more callers wait at most ``wait`` seconds for a slot, and everyone beyond that is refused
at once with :class:`~neuropil.errors.Overloaded` (503, ``Retry-After``). Waiting callers
hold a server worker thread, which is why the queue is bounded too: a flood of sign-ins
cannot occupy the thread pool the rest of the archive is served from.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from neuropil.errors import Overloaded

BUSY = "The server is busy checking other passwords; try again in a moment."


def default_slots() -> int:
    """Half the cores, at most 2: hashing never takes every core from the requests."""
    return max(1, min(2, (os.cpu_count() or 2) // 2))


class HashGate:
    """The gate described in the module docstring (thread-safe)."""

    def __init__(self, *, slots: int | None = None, queue: int = 8, wait: float = 2.0) -> None:
        slots = default_slots() if slots is None else slots
        if slots < 1 or queue < 0 or wait < 0:
            raise ValueError("a HashGate needs slots >= 1, queue >= 0 and wait >= 0")
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._inside = 0  # callers hashing or waiting

    @property
    def busy(self) -> int:
        """Callers hashing or waiting now."""
        with self._lock:
            return self._inside

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one hashing slot for the body, or raise :class:`Overloaded`."""
        with self._lock:
            if self._inside >= self.slots + self.queue:
                raise Overloaded(BUSY, retry_after=max(1, round(self.wait)))
            self._inside += 1
        try:
            if not self._slots.acquire(timeout=self.wait):
                raise Overloaded(BUSY, retry_after=max(1, round(self.wait)))
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._inside -= 1
