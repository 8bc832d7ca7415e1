"""A local Zarr folder as the official client sees it: its keys, their md5s, its checksum.

Names the official client leaves out (``.git``, ``.dandi``, ...) are left out here too, and
empty folders hold no keys, so both clients upload (and checksum) the same files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from neuropil.core.zarr_checksum import ZarrFile, zarr_checksum
from neuropil.localfiles import ZARR_SUFFIXES, zarr_files

_BLOCK = 1 << 20


def is_zarr_folder(path: Path) -> bool:
    """Whether ``path`` is a (not symlinked) folder named like a Zarr."""
    return path.is_dir() and not path.is_symlink() and path.name.lower().endswith(ZARR_SUFFIXES)


@dataclass(frozen=True)
class LocalKey:
    """One file of a local Zarr: its key, where it is, and its size."""

    key: str
    path: Path
    size: int


def local_keys(root: Path) -> dict[str, LocalKey]:
    """The files of the Zarr at ``root`` by key (symlinked folders are not followed)."""
    return {key: LocalKey(key, path, path.stat().st_size) for key, path in zarr_files(root)}


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def md5s_of(keys: Iterable[LocalKey], *, jobs: int = 4) -> dict[str, str]:
    """The md5 of each file, hashed ``jobs`` at a time."""
    items = list(keys)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(
            zip((k.key for k in items), pool.map(lambda k: md5_of(k.path), items), strict=True)
        )


def checksum_of(keys: Mapping[str, LocalKey], md5s: Mapping[str, str]) -> str:
    """The Zarr checksum of these files."""
    return str(zarr_checksum(ZarrFile(k, md5s[k], v.size) for k, v in keys.items()))
