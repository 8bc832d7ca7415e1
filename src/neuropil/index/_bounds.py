"""A bound on what one stored chunk may decode to, so a hostile file cannot exhaust memory.

A chunk's shape fixes how many bytes its decoding yields; every stage of an HDF5 filter
pipeline (deflate, shuffle, fletcher32, blosc, zstd) outputs about that many. A crafted
chunk can still claim otherwise: a 1 MB zlib stream inflates to 1 GB. So each compressor
stage is decoded against a limit: zlib is inflated at most one byte past it, blosc and
zstd frames are refused when their header announces more (numcodecs then allocates exactly
what the header says). A chunk over the limit is damaged or hostile, never data.
"""

from __future__ import annotations

import zlib
from typing import Any

from neuropil.errors import CorruptHdf5

#: Bytes a stage may add to the chunk's own size (fletcher32's checksum, headers).
SLACK = 64
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def decode_bounded(codec: Any, data: Any, limit: int) -> Any:
    """``codec.decode(data)``, refused when the output would exceed ``limit`` bytes."""
    name = getattr(codec, "codec_id", "")
    if name == "zlib":
        return _inflate(data, limit)
    if name == "blosc":
        _check(_blosc_size(data), limit, "blosc")
    elif name == "zstd":
        _check(_zstd_size(data), limit, "zstd")
    return codec.decode(data)


def _inflate(data: Any, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(memoryview(data).cast("B"), limit + 1)
    except zlib.error as exc:
        raise CorruptHdf5(f"a zlib-compressed chunk cannot be inflated: {exc}") from exc
    if len(out) > limit:
        raise _too_large("zlib", "inflates to more than", limit)
    if not inflater.eof:
        raise CorruptHdf5("a zlib-compressed chunk ends before its stream does (truncated)")
    return out


def _check(size: int | None, limit: int, codec: str) -> None:
    if size is None:
        raise _too_large(codec, "does not announce its size, so it cannot be held to", limit)
    if size > limit:
        raise _too_large(codec, f"announces {size} bytes, more than", limit)


def _too_large(codec: str, what: str, limit: int) -> CorruptHdf5:
    return CorruptHdf5(
        f"a {codec}-compressed chunk {what} the {limit} bytes its shape holds: the file is "
        "damaged (or crafted to exhaust memory)"
    )


def _blosc_size(data: Any) -> int | None:
    """The decompressed size a blosc frame announces (header bytes 4-7, little endian)."""
    head = bytes(memoryview(data).cast("B")[:16])
    return int.from_bytes(head[4:8], "little") if len(head) >= 16 else None


def _zstd_size(data: Any) -> int | None:
    """The content size the first zstd frame announces, or ``None`` when it does not."""
    head = bytes(memoryview(data).cast("B")[:18])
    if len(head) < 5 or head[:4] != _ZSTD_MAGIC:
        return None
    descriptor = head[4]
    single_segment = bool(descriptor & 0x20)
    pos = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 0x03]
    width = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
    if width == 0 or len(head) < pos + width:
        return None
    size = int.from_bytes(head[pos : pos + width], "little")
    return size + 256 if width == 2 else size
