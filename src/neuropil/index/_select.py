"""h5py selections resolved against a shape, and mapped onto a chunk grid.

A selection is resolved axis by axis into a :class:`Axis`: the positions it picks along
that axis, in output order, as a ``range`` (integers and slices, any step sign) or an index
array (one list or boolean vector, as h5py allows). Each axis then answers two questions
without materialising the whole selection: which chunk indices it touches, and for one
chunk, which positions of the chunk go where in the output. So ``ds[::1000]`` of a long
dataset reads only the chunks holding those rows, and a large slice is assembled with plain
slice copies.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Where one axis of a chunk lands: (positions in the chunk, positions in the output).
Placement = tuple[slice | np.ndarray[Any, Any], slice | np.ndarray[Any, Any]]


@dataclass(frozen=True)
class Axis:
    """The positions a selection picks along one axis (``dropped``: an integer index)."""

    picks: range | np.ndarray[Any, Any]
    dropped: bool = False

    def __len__(self) -> int:
        return len(self.picks)

    def chunks(self, extent: int) -> list[int]:
        """Indices of the chunks (of ``extent`` along this axis) holding a picked position."""
        picks = self.picks
        if len(picks) == 0:
            return []
        if isinstance(picks, range):
            lo, hi = min(picks[0], picks[-1]), max(picks[0], picks[-1])
            if abs(picks.step) <= extent:
                return list(range(lo // extent, hi // extent + 1))
            return sorted({p // extent for p in picks})
        return [int(c) for c in np.unique(picks // extent)]

    def place(self, chunk: int, extent: int) -> Placement:
        """(positions in chunk ``chunk``, positions in the output) for this axis."""
        base = chunk * extent
        picks = self.picks
        if isinstance(picks, range):
            out = _within(picks, base, base + extent)
            sub = picks[out]
            stop: int | None = sub.stop - base
            if stop is not None and stop < 0:
                stop = None  # a negative step running down to position 0
            return slice(sub.start - base, stop, sub.step), out
        hit = np.nonzero(picks // extent == chunk)[0]
        return picks[hit] - base, hit


def _within(r: range, lo: int, hi: int) -> slice:
    """The positions ``k`` of ``r`` with ``lo <= r[k] < hi``, as a slice of ``r``."""
    n, start, step = len(r), r.start, r.step
    if step > 0:
        first = max(0, -((start - lo) // step)) if start < lo else 0
        last = min(n, -((start - hi) // step))
    else:
        first = max(0, (start - hi) // -step + 1) if start >= hi else 0
        last = min(n, (start - lo) // -step + 1)
    return slice(first, max(first, last))


@dataclass(frozen=True)
class Selection:
    """A resolved selection: one :class:`Axis` per dataset axis."""

    axes: tuple[Axis, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the result before integer-indexed axes are dropped."""
        return tuple(len(axis) for axis in self.axes)

    @property
    def result_shape(self) -> tuple[int, ...]:
        return tuple(len(axis) for axis in self.axes if not axis.dropped)

    def grid(self, chunks: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        """Grid indices of every chunk holding a selected element."""
        per_axis = [axis.chunks(n) for axis, n in zip(self.axes, chunks, strict=True)]
        return itertools.product(*per_axis)

    def placement(
        self, index: tuple[int, ...], chunks: tuple[int, ...]
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(selection in the chunk, selection in the result) for chunk ``index``.

        At most one axis is an index array, so numpy keeps it in place on both sides.
        """
        pairs = [axis.place(i, n) for axis, i, n in zip(self.axes, index, chunks, strict=True)]
        return tuple(src for src, _ in pairs), tuple(dst for _, dst in pairs)

    def finish(self, data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Drop the integer-indexed axes of an array of :attr:`shape`."""
        if any(axis.dropped for axis in self.axes):
            return data.reshape(self.result_shape)
        return data


def resolve(selection: Any, shape: tuple[int, ...]) -> Selection:
    """Resolve what ``ds[selection]`` may hold (less field names) against ``shape``.

    Integers (negative counting from the end), slices with any step, ``...``, ``()`` and
    one integer list/array or boolean vector, as h5py allows; anything else raises the
    ``IndexError``/``TypeError`` h5py would.
    """
    items = list(selection) if isinstance(selection, tuple) else [selection]
    ellipses = [i for i, item in enumerate(items) if item is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if ellipses:
        at = ellipses[0]
        items[at : at + 1] = [slice(None)] * max(0, len(shape) - len(items) + 1)
    if len(items) > len(shape):
        raise IndexError(f"too many indices ({len(items)}) for shape {shape}")
    items += [slice(None)] * (len(shape) - len(items))
    axes = tuple(_axis(item, extent) for item, extent in zip(items, shape, strict=True))
    if sum(isinstance(axis.picks, np.ndarray) for axis in axes) > 1:
        raise TypeError("only one indexing vector or array is allowed for fancy indexing")
    return Selection(axes)


def _axis(item: Any, extent: int) -> Axis:
    if isinstance(item, bool | np.bool_):
        raise TypeError(f"a boolean ({item!r}) is not an index")
    if isinstance(item, int | np.integer):
        index = int(item) + extent if item < 0 else int(item)
        if not 0 <= index < extent:
            raise IndexError(f"index {int(item)} is out of range for an axis of length {extent}")
        return Axis(range(index, index + 1), dropped=True)
    if isinstance(item, slice):
        return Axis(range(*item.indices(extent)))
    if isinstance(item, list | np.ndarray | range):
        return Axis(_vector(np.asarray(item), extent))
    raise TypeError(f"unsupported selection {item!r}: use integers, slices, '...' or one list")


def _vector(picks: np.ndarray[Any, Any], extent: int) -> np.ndarray[Any, Any]:
    if picks.ndim != 1:
        raise TypeError("an index list or array must be one-dimensional")
    if picks.dtype.kind == "b":
        if len(picks) != extent:
            raise TypeError(f"a boolean index of length {len(picks)} for an axis of {extent}")
        return np.nonzero(picks)[0]
    if picks.size == 0:
        return np.zeros(0, dtype=np.int64)
    if picks.dtype.kind not in "iu":
        raise TypeError(f"index arrays must hold integers, not {picks.dtype}")
    picks = picks.astype(np.int64)
    picks = np.where(picks < 0, picks + extent, picks)
    if picks.min() < 0 or picks.max() >= extent:
        raise IndexError(f"an index in the list is out of range for an axis of length {extent}")
    return picks
