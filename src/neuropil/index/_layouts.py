"""Chunk refs for datasets whose stored bytes Zarr can read as they are (numbers, fixed strings).

One function per HDF5 storage layout:

* chunked: one ref per allocated chunk, its Zarr name its grid index;
* contiguous: one ref for the whole array, or, past ``split_contiguous_bytes`` of raw data,
  virtual row blocks so a reader need not fetch gigabytes for one sample (as LINDI does;
  the last block is short and readers zero-pad it);
* compact: the bytes live in the object header, so they are inlined.

Small data are inlined (see :class:`IndexOptions`) so that opening a file and reading its
small arrays needs no request beyond the index. A chunk stored with some filters skipped
(non-zero ``filter_mask``) cannot be decoded by the dataset's one codec pipeline, so it is
read through HDF5, re-encoded with the full pipeline and inlined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import h5py
import numcodecs
import numpy as np
from numcodecs.compat import ensure_bytes

from neuropil.errors import UnsupportedHdf5
from neuropil.index._chunks import StoredChunk, stored_chunks
from neuropil.index._format import chunk_name, file_ref, inline_value
from neuropil.index._indexed_file import SourceFile


@dataclass(frozen=True)
class IndexOptions:
    """Size rules of the builder; the defaults aim at a compact index and a 1-request open."""

    #: A chunk of at most this many stored bytes is inlined: its ref would cost about as much.
    inline_chunk_bytes: int = 64
    #: All chunks of a dataset storing at most this many bytes are inlined (LINDI inlines
    #: numeric arrays under 1000 elements, i.e. up to 8000 bytes).
    inline_dataset_bytes: int = 8000
    #: Contiguous raw data larger than this are cut into row blocks of about this size.
    split_contiguous_bytes: int = 16 * 1024 * 1024


@dataclass
class RawLayout:
    """The Zarr chunk shape of a dataset and its chunk refs by chunk name."""

    chunks: tuple[int, ...]
    refs: dict[str, Any] = field(default_factory=dict)


def raw_layout(
    ds: h5py.Dataset, codecs: list[dict[str, Any]], src: SourceFile, options: IndexOptions
) -> RawLayout:
    """Chunk refs for a non-scalar dataset of numbers or fixed-length strings."""
    dcpl = ds.id.get_create_plist()
    if dcpl.get_external_count():
        raise UnsupportedHdf5(f"dataset {ds.name} keeps its data in external files")
    layout = dcpl.get_layout()
    if layout == h5py.h5d.CHUNKED:
        return _chunked(ds, codecs, src, options)
    if layout == h5py.h5d.CONTIGUOUS:
        return _contiguous(ds, src, options)
    if layout == h5py.h5d.COMPACT:
        return _compact(ds)
    raise UnsupportedHdf5(f"dataset {ds.name} is a virtual dataset, which is not supported")


def _chunked(
    ds: h5py.Dataset, codecs: list[dict[str, Any]], src: SourceFile, options: IndexOptions
) -> RawLayout:
    chunk_shape = tuple(int(n) for n in ds.chunks)
    stored = stored_chunks(ds.id, chunk_shape)
    inline_all = sum(chunk.size for chunk in stored) <= options.inline_dataset_bytes
    result = RawLayout(chunk_shape)
    for chunk in stored:
        result.refs[chunk_name(chunk.index)] = _chunk_ref(
            ds, chunk, codecs, src, inline=inline_all or chunk.size <= options.inline_chunk_bytes
        )
    return result


def _chunk_ref(
    ds: h5py.Dataset,
    chunk: StoredChunk,
    codecs: list[dict[str, Any]],
    src: SourceFile,
    *,
    inline: bool,
) -> Any:
    if chunk.filter_mask:
        return inline_value(_reencoded(ds, chunk, codecs))
    if inline:
        return inline_value(src.read(chunk.offset, chunk.size))
    src.check_range(chunk.offset, chunk.size)
    return file_ref(chunk.offset, chunk.size)


def _reencoded(ds: h5py.Dataset, chunk: StoredChunk, codecs: list[dict[str, Any]]) -> bytes:
    """A chunk decoded by HDF5 (which honours the mask) and encoded with every filter."""
    chunk_shape = tuple(int(n) for n in ds.chunks)
    start = [i * n for i, n in zip(chunk.index, chunk_shape, strict=True)]
    region = tuple(
        slice(s, min(s + n, extent))
        for s, n, extent in zip(start, chunk_shape, ds.shape, strict=True)
    )
    data = ds[region]
    block = np.full(chunk_shape, ds.fillvalue, dtype=ds.dtype)
    block[tuple(slice(0, n) for n in data.shape)] = data
    payload: bytes = block.tobytes()
    for config in codecs:
        payload = ensure_bytes(numcodecs.get_codec(dict(config)).encode(payload))
    return payload


def _contiguous(ds: h5py.Dataset, src: SourceFile, options: IndexOptions) -> RawLayout:
    shape = tuple(int(n) for n in ds.shape)
    offset = ds.id.get_offset()
    size = int(ds.id.get_storage_size())
    if offset is None or size == 0:  # never written: every element is the fill value
        return RawLayout(_whole(shape))
    if size <= options.inline_dataset_bytes:
        return RawLayout(
            shape, {chunk_name((0,) * len(shape)): inline_value(src.read(offset, size))}
        )
    if size > options.split_contiguous_bytes and shape[0] > 1:
        return _row_blocks(shape, int(offset), size, src, options.split_contiguous_bytes)
    src.check_range(offset, size)
    return RawLayout(shape, {chunk_name((0,) * len(shape)): file_ref(offset, size)})


def _row_blocks(
    shape: tuple[int, ...], offset: int, size: int, src: SourceFile, target: int
) -> RawLayout:
    src.check_range(offset, size)
    row_bytes = size // shape[0]
    rows = max(1, target // row_bytes)
    tail = (0,) * (len(shape) - 1)
    result = RawLayout((rows, *shape[1:]))
    for block in range(math.ceil(shape[0] / rows)):
        start = offset + block * rows * row_bytes
        length = min(rows * row_bytes, offset + size - start)
        result.refs[chunk_name((block, *tail))] = file_ref(start, length)
    return result


def _compact(ds: h5py.Dataset) -> RawLayout:
    shape = tuple(int(n) for n in ds.shape)
    if math.prod(shape) == 0:
        return RawLayout(_whole(shape))
    data = np.ascontiguousarray(ds[()], dtype=ds.dtype)
    return RawLayout(shape, {chunk_name((0,) * len(shape)): inline_value(data.tobytes())})


def _whole(shape: tuple[int, ...]) -> tuple[int, ...]:
    """One chunk for the whole array; Zarr forbids zero-length chunk sides."""
    return tuple(max(1, n) for n in shape)
