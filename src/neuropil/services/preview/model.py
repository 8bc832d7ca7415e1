"""The values previews are made of: the object tree of a file, plans, and the bounds.

A :class:`Node` describes one HDF5 object as the index tells it (no data read). A
:class:`Plan` says what one preview shows and exactly which elements it reads
(:class:`Read`: one ``range`` per axis). The limits below bound every preview, whatever a
file claims about itself: a hostile upload can make a preview fail, never make it large.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

# -- bounds ------------------------------------------------------------------------------------
#: Traces: seconds shown, and at most this many samples and channels.
SECONDS = 2.0
MAX_SAMPLES = 60_000
MAX_CHANNELS = 8
#: Position traces: the first samples, whatever their rate (tracking is slow).
MAX_POSITION_SAMPLES = 20_000
#: Spike rasters: the first units and at most this many spikes in all.
MAX_UNITS = 50
MAX_SPIKES = 100_000
#: Images and frames are sampled with a stride down to about this many pixels a side.
MAX_SIDE = 512
#: ROI masks: the first masks, drawn as one label image.
MAX_MASKS = 50
#: What one preview may decode (whole chunks count: a chunk is decoded entirely) and how
#: many chunks it may touch. Reading is ~0.3 s per 100 MB of zlib at worst.
MAX_DECODED_BYTES = 64 << 20
MAX_CHUNKS = 2_048
#: The tree: objects listed in all, and members listed per group.
MAX_NODES = 2_000
MAX_MEMBERS = 300
#: Previews offered on one file page.
MAX_PREVIEWS = 12


class Kind(StrEnum):
    """What a preview draws."""

    TRACES = "traces"  # a few seconds of a few channels of a time series
    RASTER = "raster"  # spike times of the first units
    IMAGE = "image"  # an image, or one frame of an image series
    MASKS = "masks"  # ROI image masks as one label image
    POSITION = "position"  # a spatial series as a path (or a trace, in one dimension)


#: PNG size in pixels (width, height) per kind; pages declare it on their ``<img>``.
SIZES: Mapping[Kind, tuple[int, int]] = {
    Kind.TRACES: (720, 300),
    Kind.RASTER: (720, 300),
    Kind.IMAGE: (400, 400),
    Kind.MASKS: (400, 400),
    Kind.POSITION: (400, 400),
}


@dataclass(frozen=True)
class Node:
    """One object of a file: a group, a dataset or a soft link, with its members.

    ``chunks`` is the storage grid of a dataset as the index keeps it (the Zarr chunk
    shape, which for contiguous data is one block or row blocks), and ``attrs`` the few
    attributes previews use (``rate``, ``conversion``, ``offset``, ``unit``...).
    """

    path: str
    kind: Literal["group", "dataset", "link"]
    neurodata_type: str | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    numeric: bool = False
    itemsize: int = 0
    chunks: tuple[int, ...] | None = None
    attrs: Mapping[str, float | str] = field(default_factory=dict)
    target: str | None = None
    members: tuple[Node, ...] = ()
    #: Members of a group not listed (past :data:`MAX_MEMBERS` or :data:`MAX_NODES`).
    hidden: int = 0

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "/"

    def member(self, name: str) -> Node | None:
        """The direct member called ``name`` (soft links are not followed)."""
        return next((m for m in self.members if m.name == name), None)

    @property
    def size(self) -> int:
        """Elements of a dataset (0 for groups and links)."""
        return math.prod(self.shape) if self.shape is not None else 0


@dataclass(frozen=True)
class Read:
    """One bounded read: a dataset and, per axis, the positions taken of it."""

    path: str
    select: tuple[range, ...]

    @property
    def key(self) -> tuple[slice, ...]:
        """The numpy-style selection (``ds[read.key]``)."""
        return tuple(slice(r.start, r.stop, r.step) for r in self.select)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(r) for r in self.select)


@dataclass(frozen=True)
class Plan:
    """What the preview of one object shows and reads.

    ``reads`` names each bounded read by its role: ``data`` always; ``timestamps``,
    ``start`` (a scalar ``starting_time``), ``conversion`` (per channel), ``index`` and
    ``ids`` (a units table) where the kind uses them.
    """

    kind: Kind
    object: str
    neurodata_type: str | None
    reads: Mapping[str, Read]
    description: str
    rate: float | None = None
    conversion: float = 1.0
    offset: float = 0.0
    unit: str = ""
    #: Samples within :data:`SECONDS` are kept of what ``timestamps`` gives (traces only).
    seconds: float | None = None

    @property
    def size(self) -> tuple[int, int]:
        """The PNG's width and height in pixels."""
        return SIZES[self.kind]

    @property
    def data(self) -> Read:
        return self.reads["data"]
