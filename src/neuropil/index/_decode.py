"""Reading arrays out of refs: ``.zarray`` parsing, chunk decoding and assembly.

Kept apart from the h5py-like objects (:mod:`neuropil.index.h5`) and from fetching
(:mod:`neuropil.index._store`): decoding a chunk is pure numpy/numcodecs, tested on its own.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
from numcodecs.compat import ensure_contiguous_ndarray

from neuropil.errors import InvalidIndex
from neuropil.index._bounds import SLACK, decode_bounded
from neuropil.index._format import HDF5_INFO, decode_fill_value


@dataclass(frozen=True)
class ArrayMeta:
    """What a ``.zarray`` says, parsed once."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any
    codecs: tuple[Any, ...]  # decode in reverse order
    #: neuropil's ``HDF5_INFO`` member (empty for indexes written by others).
    hdf5: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, doc: Mapping[str, Any], *, key: str) -> ArrayMeta:
        """Parse a ``.zarray`` document (``key`` names it in errors)."""
        try:
            dtype = np.dtype(doc["dtype"])
            configs = list(doc.get("filters") or [])
            if doc.get("compressor"):
                configs.append(doc["compressor"])
            info = doc.get(HDF5_INFO) or {}
            if not isinstance(info, Mapping):
                raise TypeError(f"{HDF5_INFO!r} must be an object")
            return cls(
                shape=tuple(int(n) for n in doc["shape"]),
                chunks=tuple(int(n) for n in doc["chunks"]),
                dtype=dtype,
                fill_value=decode_fill_value(doc.get("fill_value"), dtype),
                codecs=tuple(numcodecs.get_codec(dict(config)) for config in configs),
                hdf5=info,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidIndex(f"{key} is not a valid .zarray document: {exc}") from exc

    def empty(self, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        """An array of ``shape`` holding the fill value."""
        if self.fill_value is None:
            return np.zeros(shape, dtype=self.dtype)
        return np.full(shape, self.fill_value, dtype=self.dtype)


def decode_chunk(meta: ArrayMeta, payload: bytes, rows: int | None = None) -> np.ndarray[Any, Any]:
    """Decode one stored chunk into an array of the chunk shape.

    ``rows`` asks for the first ``rows`` positions along the first axis only (a selection
    ending there). A chunk compressed with zlib alone is then inflated only as far as those
    rows reach, in C order: a slice of the first half of a chunk costs about half the
    inflating. Other pipelines (shuffle mixes bytes across the whole chunk) decode in full;
    the result always has at least ``rows`` rows.
    """
    shape = meta.chunks
    if rows is not None and shape and rows < shape[0] and _prefix_decodable(meta):
        shape = (rows, *shape[1:])
        data: Any = zlib.decompressobj().decompress(payload, math.prod(shape) * meta.dtype.itemsize)
    else:
        data = payload
        # Strings decode to objects of any size; numbers to the chunk's bytes (_bounds.py).
        limit = math.prod(shape) * meta.dtype.itemsize + SLACK if meta.dtype.kind != "O" else None
        for codec in reversed(meta.codecs):
            data = codec.decode(data) if limit is None else decode_bounded(codec, data, limit)
    if meta.dtype.kind == "O":
        return np.asarray(data, dtype=object).reshape(meta.chunks)
    flat: np.ndarray[Any, Any] = ensure_contiguous_ndarray(data).view(meta.dtype).reshape(-1)
    expected = math.prod(shape)
    if flat.size < expected:
        # A short last block of a split contiguous dataset (LINDI pads these too).
        flat = np.concatenate([flat, meta.empty((expected - flat.size,))])
    return flat[:expected].reshape(shape)


def _prefix_decodable(meta: ArrayMeta) -> bool:
    """Whether the first bytes of a decoded chunk come from inflating a prefix of it."""
    return meta.dtype.kind != "O" and len(meta.codecs) == 1 and meta.codecs[0].codec_id == "zlib"
