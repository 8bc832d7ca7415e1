"""Reading arrays out of refs: selections, chunk decoding and assembly.

Kept apart from the h5py-like objects in :mod:`neuropil.index.reader` so the numeric core
(which chunks a selection touches, how one chunk decodes) can be tested and reused by the
streaming reader, which will swap sequential fetches for coalesced concurrent ones.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
from numcodecs.compat import ensure_contiguous_ndarray

from neuropil.errors import InvalidIndex
from neuropil.index._format import decode_fill_value, expand_url, inline_bytes

#: ``fetch(url, offset, size) -> bytes``: the only network-aware piece of the reader.
Fetch = Callable[[str, int, int], bytes]


@dataclass(frozen=True)
class Selection:
    """A basic h5py/numpy selection resolved against a shape.

    ``start``/``stop``/``step`` per axis (``step`` > 0), and the axes indexed by an integer,
    which the result drops.
    """

    start: tuple[int, ...]
    stop: tuple[int, ...]
    step: tuple[int, ...]
    dropped: tuple[int, ...]

    @property
    def box(self) -> tuple[int, ...]:
        """The shape of the bounding box ``[start, stop)`` (before steps and drops)."""
        return tuple(b - a for a, b in zip(self.start, self.stop, strict=True))


def resolve(selection: Any, shape: tuple[int, ...]) -> Selection:
    """Resolve ints, slices (positive steps), ``...`` and ``()`` against ``shape``."""
    items = list(selection) if isinstance(selection, tuple) else [selection]
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    if len(items) > len(shape):
        raise IndexError(f"too many indices ({len(items)}) for shape {shape}")
    items += [slice(None)] * (len(shape) - len(items))
    start, stop, step, dropped = [], [], [], []
    for axis, (item, extent) in enumerate(zip(items, shape, strict=True)):
        a, b, s = _axis(item, extent)
        start.append(a)
        stop.append(b)
        step.append(s)
        if isinstance(item, int | np.integer):
            dropped.append(axis)
    return Selection(tuple(start), tuple(stop), tuple(step), tuple(dropped))


def _axis(item: Any, extent: int) -> tuple[int, int, int]:
    if isinstance(item, int | np.integer):
        index = int(item) + extent if item < 0 else int(item)
        if not 0 <= index < extent:
            raise IndexError(f"index {int(item)} is out of range for an axis of length {extent}")
        return index, index + 1, 1
    if isinstance(item, slice):
        a, b, s = item.indices(extent)
        if s <= 0:
            raise IndexError("only positive slice steps are supported")
        return a, max(a, b), s
    raise TypeError(f"unsupported selection {item!r}: use integers, slices and '...'")


def finish(box: np.ndarray[Any, Any], selection: Selection) -> np.ndarray[Any, Any]:
    """Apply steps and drop integer-indexed axes of the bounding-box array."""
    stepped = box[tuple(slice(None, None, s) for s in selection.step)]
    if selection.dropped:
        stepped = stepped.reshape(
            [n for axis, n in enumerate(stepped.shape) if axis not in selection.dropped]
        )
    return stepped


@dataclass(frozen=True)
class ArrayMeta:
    """What a ``.zarray`` says, parsed once."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any
    codecs: tuple[Any, ...]  # decode in reverse order

    @classmethod
    def parse(cls, doc: Mapping[str, Any], *, key: str) -> ArrayMeta:
        """Parse a ``.zarray`` document (``key`` names it in errors)."""
        try:
            dtype = np.dtype(doc["dtype"])
            configs = list(doc.get("filters") or [])
            if doc.get("compressor"):
                configs.append(doc["compressor"])
            return cls(
                shape=tuple(int(n) for n in doc["shape"]),
                chunks=tuple(int(n) for n in doc["chunks"]),
                dtype=dtype,
                fill_value=decode_fill_value(doc.get("fill_value"), dtype),
                codecs=tuple(numcodecs.get_codec(dict(config)) for config in configs),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidIndex(f"{key} is not a valid .zarray document: {exc}") from exc

    def grid(self, selection: Selection) -> Iterator[tuple[int, ...]]:
        """Grid indices of the chunks that the selection's bounding box touches."""
        ranges = [
            range(a // n, (b - 1) // n + 1) if b > a else range(0)
            for a, b, n in zip(selection.start, selection.stop, self.chunks, strict=True)
        ]
        return itertools.product(*ranges)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        """An array of ``shape`` holding the fill value."""
        if self.fill_value is None:
            return np.zeros(shape, dtype=self.dtype)
        return np.full(shape, self.fill_value, dtype=self.dtype)


class ChunkSource:
    """Turns ref values into chunk bytes: inline data, or ``fetch`` for file refs."""

    def __init__(self, templates: Mapping[str, str], fetch: Fetch | None) -> None:
        self._templates = templates
        self._fetch = fetch

    def load(self, key: str, value: Any) -> bytes:
        """The bytes a ref value stands for."""
        if isinstance(value, str):
            return inline_bytes(value)
        if isinstance(value, list) and len(value) == 3:
            if self._fetch is None:
                raise InvalidIndex(f"{key} refers to file bytes but the reader has no fetch")
            url, offset, size = value
            return self._fetch(expand_url(str(url), self._templates), int(offset), int(size))
        raise InvalidIndex(f"{key} is not a chunk ref: {value!r}")


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


def read_box(
    meta: ArrayMeta,
    selection: Selection,
    chunk: Callable[[tuple[int, ...]], np.ndarray[Any, Any] | None],
) -> np.ndarray[Any, Any]:
    """Assemble the selection's bounding box from decoded chunks (``None`` = fill value)."""
    out = meta.empty(selection.box)
    for index in meta.grid(selection):
        data = chunk(index)
        if data is None:
            continue
        src, dst = [], []
        for i, n, a, b in zip(index, meta.chunks, selection.start, selection.stop, strict=True):
            lo, hi = max(a, i * n), min(b, (i + 1) * n)
            src.append(slice(lo - i * n, hi - i * n))
            dst.append(slice(lo - a, hi - a))
        out[tuple(dst)] = data[tuple(src)]
    return out
