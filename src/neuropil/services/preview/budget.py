"""What a read costs in whole chunks, and the largest read that stays within the bounds.

A chunk is fetched and decoded entirely even when one element of it is wanted, so the cost
of a selection is the chunks it touches: their count and their decoded bytes. Both come
from the storage grid alone (shape, chunk shape, element size), before any byte is read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from neuropil.services.preview.model import MAX_CHUNKS, MAX_DECODED_BYTES, Node


@dataclass(frozen=True)
class Cost:
    chunks: int
    decoded_bytes: int

    @property
    def affordable(self) -> bool:
        return self.chunks <= MAX_CHUNKS and self.decoded_bytes <= MAX_DECODED_BYTES


def touched(picks: range, chunk: int) -> int:
    """Chunks of side ``chunk`` along one axis that the positions ``picks`` fall in."""
    if not picks:
        return 0
    first, last = picks[0] // chunk, picks[-1] // chunk
    if abs(picks.step) >= chunk:  # consecutive picks never share a chunk
        return len(picks)
    return abs(last - first) + 1


def cost(chunks: Sequence[int], itemsize: int, select: Sequence[range]) -> Cost:
    """The chunks a selection touches and the bytes decoding them yields."""
    counts = [touched(r, c) for r, c in zip(select, chunks, strict=True)]
    n = math.prod(counts)
    return Cost(n, n * math.prod(chunks) * itemsize)


def storage(node: Node) -> tuple[tuple[int, ...], int] | None:
    """The chunk shape and element size of a numeric dataset with a usable grid."""
    if node.kind == "group" or not node.numeric or node.shape is None or not node.itemsize:
        return None
    chunks = node.chunks
    if chunks is None or len(chunks) != len(node.shape) or any(c < 1 for c in chunks):
        return None
    return chunks, node.itemsize


def affordable(node: Node, select: Sequence[range]) -> bool:
    """Whether reading ``select`` of ``node`` stays within the bounds."""
    grid = storage(node)
    return grid is not None and cost(grid[0], grid[1], select).affordable


def fit_rows(node: Node, rows: int, rest: Sequence[range]) -> int:
    """The most leading rows (up to ``rows``) readable with ``rest`` on the other axes.

    Whole chunks of rows are counted, so the answer is ``rows`` or a multiple of the chunk
    height; 0 when not even one chunk of rows is affordable.
    """
    grid = storage(node)
    if grid is None or rows <= 0:
        return 0
    chunks, itemsize = grid
    if cost(chunks, itemsize, [range(min(rows, 1)), *rest]).chunks == 0:
        return 0
    per_chunk_row = cost(chunks, itemsize, [range(1), *rest])
    if not per_chunk_row.affordable:
        return 0
    by_bytes = MAX_DECODED_BYTES // max(1, per_chunk_row.decoded_bytes)
    by_count = MAX_CHUNKS // max(1, per_chunk_row.chunks)
    return min(rows, min(by_bytes, by_count) * chunks[0])
