"""Durable filesystem writes: write to a temporary file, fsync, rename, fsync the directory."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(tmp_dir: Path, hint: str = "") -> Path:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return tmp_dir / f".{hint}{uuid.uuid4().hex}.tmp"


def publish_file(tmp: Path, final: Path) -> None:
    """Atomically move a fully written, fsynced ``tmp`` into place at ``final``."""
    try:
        os.replace(tmp, final)
    except FileNotFoundError:  # the first file of its folder (a folder is made only then)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
    fsync_dir(final.parent)


def write_durably(tmp_dir: Path, final: Path, data: bytes) -> None:
    tmp = temp_path(tmp_dir)
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    publish_file(tmp, final)
