"""Durable local writes for downloads: atomic replace, directory fsync, remote mtimes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


def fsync_dir(path: Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a crash leaves the old or the new content."""
    # A unique hidden name: concurrent writers never collide, and sync never lists it.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def timestamp(when: datetime) -> float:
    """POSIX time of ``when``; a naive datetime is taken as UTC (as the API's times are)."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
