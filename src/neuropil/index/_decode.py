"""Reading arrays out of refs: ``.zarray`` parsing, chunk decoding and assembly.

Kept apart from the h5py-like objects (:mod:`neuropil.index.h5`) and from fetching
(:mod:`neuropil.index._store`): given the decoded chunks a selection touches, building the
result is pure numpy, so it is tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
from numcodecs.compat import ensure_contiguous_ndarray

from neuropil.errors import InvalidIndex
from neuropil.index._format import HDF5_INFO, decode_fill_value
from neuropil.index._select import Selection


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


def decode_chunk(meta: ArrayMeta, payload: bytes) -> np.ndarray[Any, Any]:
    """Decode one stored chunk into an array of the chunk shape."""
    data: Any = payload
    for codec in reversed(meta.codecs):
        data = codec.decode(data)
    if meta.dtype.kind == "O":
        return np.asarray(data, dtype=object).reshape(meta.chunks)
    flat: np.ndarray[Any, Any] = ensure_contiguous_ndarray(data).view(meta.dtype).reshape(-1)
    expected = math.prod(meta.chunks)
    if flat.size < expected:
        # A short last block of a split contiguous dataset (LINDI pads these too).
        flat = np.concatenate([flat, meta.empty((expected - flat.size,))])
    return flat[:expected].reshape(meta.chunks)


def assemble(
    meta: ArrayMeta,
    selection: Selection,
    chunks: Mapping[tuple[int, ...], np.ndarray[Any, Any] | None],
) -> np.ndarray[Any, Any]:
    """The selected elements, from the decoded chunks (``None``: not stored, fill value)."""
    out = meta.empty(selection.shape)
    for index, data in chunks.items():
        if data is None:
            continue
        src, dst = selection.placement(index, meta.chunks)
        out[dst] = data[src]
    return selection.finish(out)
