"""The streaming benchmark's NWB file and the byte-level floors its slices are judged by.

The file (:func:`make_nwb`) looks like one Neuropixels probe's raw recording converted with
pynwb's defaults for compression: a ``(samples, 384)`` int16 ``ElectricalSeries`` at 30 kHz,
gzip (level 4, h5py's default) in chunks of ``(65536, 64)`` (8 MiB raw per chunk: about the
10 MB that NeuroConv aims at, with at most 64 channels per chunk as it does), an electrodes
table, 40 sorted units and 100 Hz head position. The voltage is filtered noise (a 1 ms
boxcar over white noise, plus white noise and an 8 Hz theta rhythm whose sign reverses
across the probe), so gzip saves about a quarter, as on real ephys: far from random bytes,
far from zeros. The default 360,000 samples (12 s) make a file of about 200 MB.

The floors (:func:`floor`) come from the file itself: h5py's ``get_chunk_info`` gives every
chunk's byte offset and stored (compressed) size, so for any selection the bytes a reader
cannot avoid are the sizes of the chunks it touches, and the fewest requests are the number
of contiguous byte runs those chunks form in the file.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

SERIES = "ElectricalSeries"
DATA_PATH = f"/acquisition/{SERIES}/data"
#: Microvolts per bit (Intan / Neuropixels-like gain).
UV_PER_BIT = 0.195


@dataclass(frozen=True)
class FileSpec:
    """The generated recording; the defaults make the ~200 MB benchmark file."""

    samples: int = 360_000
    channels: int = 384
    chunk_rows: int = 65_536
    chunk_cols: int = 64
    rate: float = 30_000.0
    units: int = 40
    position_rate: float = 100.0
    seed: int = 0

    @property
    def chunks(self) -> tuple[int, int]:
        return (min(self.chunk_rows, self.samples), min(self.chunk_cols, self.channels))

    @property
    def raw_bytes(self) -> int:
        return self.samples * self.channels * 2

    def describe(self) -> str:
        return (
            f"{self.samples}x{self.channels} int16 at {self.rate / 1000:g} kHz, gzip level 4, "
            f"chunks {self.chunks[0]}x{self.chunks[1]}"
        )


# -- the file ---------------------------------------------------------------------------------


def voltage(spec: FileSpec) -> np.ndarray:
    """The int16 recording: low-passed noise plus white noise and theta, block by block."""
    rng = np.random.default_rng(spec.seed)
    out = np.empty((spec.samples, spec.channels), dtype=np.int16)
    depth = np.linspace(1.0, -0.5, spec.channels, dtype=np.float32)[None, :]
    # A boxcar over 32 samples (~1 ms): most of its power below ~1 kHz, like LFP plus the
    # tails of spikes; the last 32 white samples carry over so blocks join seamlessly.
    width = 32
    tail = rng.standard_normal((width, spec.channels), dtype=np.float32)
    block = 32_768
    for start in range(0, spec.samples, block):
        n = min(block, spec.samples - start)
        white = np.concatenate([tail, rng.standard_normal((n, spec.channels), np.float32)])
        summed = np.cumsum(white, axis=0, dtype=np.float32)
        slow = summed[width:] - summed[:-width]
        tail = white[-width:]
        t = (start + np.arange(n, dtype=np.float32)) / spec.rate
        theta = (120.0 * np.sin(2 * np.pi * 8.0 * t))[:, None] * depth
        microvolts = theta + 4.0 * slow + 6.0 * rng.standard_normal((n, spec.channels), np.float32)
        out[start : start + n] = np.clip(microvolts / UV_PER_BIT, -32768, 32767)
    return out


def make_nwb(path: Path, spec: FileSpec) -> None:
    """Write the benchmark's NWB file (see the module docstring)."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.behavior import Position, SpatialSeries
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject

    rng = np.random.default_rng([spec.seed, 1])
    nwb = NWBFile(
        session_description="Synthetic Neuropixels-like recording for neuropil's benchmark.",
        identifier=str(uuid.UUID(bytes=rng.bytes(16), version=4)),
        session_start_time=datetime(2024, 5, 1, 10, 30, tzinfo=UTC),
        session_id="bench01",
        experimenter=["Neuropil, Bench"],
        lab="Neuropil benchmark lab",
        institution="Neuropil",
    )
    nwb.subject = Subject(subject_id="bench", species="Mus musculus", sex="M", age="P90D")
    device = nwb.create_device(name="probe0", description="384-channel probe")
    group = nwb.create_electrode_group(
        name="shank0", description="the probe's shank", location="CA1", device=device
    )
    for channel in range(spec.channels):
        nwb.add_electrode(
            group=group, location="CA1", x=0.0, y=20.0 * (channel // 2), z=0.0, filtering="none"
        )
    region = nwb.create_electrode_table_region(list(range(spec.channels)), "all channels")
    nwb.add_acquisition(
        ElectricalSeries(
            name=SERIES,
            description="Broadband voltage.",
            data=H5DataIO(voltage(spec), compression="gzip", chunks=spec.chunks),
            electrodes=region,
            starting_time=0.0,
            rate=spec.rate,
            conversion=UV_PER_BIT * 1e-6,
        )
    )
    duration = spec.samples / spec.rate
    for unit in range(spec.units):
        times = np.sort(rng.uniform(0.0, duration, rng.poisson(8.0 * duration) + 1))
        nwb.add_unit(spike_times=times, electrodes=[unit * spec.channels // spec.units])
    n = max(2, int(duration * spec.position_rate))
    xy = np.clip(0.25 + np.cumsum(rng.normal(0.0, 0.005, (n, 2)), axis=0), 0.0, 0.5)
    behavior = nwb.create_processing_module("behavior", "Tracked head position.")
    behavior.add(
        Position(
            spatial_series=SpatialSeries(
                name="position",
                description="Head position from an overhead camera.",
                data=xy,
                reference_frame="(0, 0) is the arena's south-west corner",
                starting_time=0.0,
                rate=spec.position_rate,
                unit="meters",
            )
        )
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


# -- chunk layout and floors ------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """One stored chunk: its first element's coordinates and its bytes in the file."""

    origin: tuple[int, ...]
    offset: int
    size: int


@dataclass(frozen=True)
class Layout:
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    by_origin: dict[tuple[int, ...], Chunk]

    @property
    def stored_bytes(self) -> int:
        return sum(c.size for c in self.by_origin.values())

    def touched(self, sel: Sequence[slice]) -> list[Chunk]:
        """The stored chunks a selection of ``[start:stop]`` slices (one per axis) needs."""
        ranges = []
        for s, n, c in zip(sel, self.shape, self.chunks, strict=True):
            start, stop, _ = s.indices(n)
            ranges.append(range(start // c * c, math.ceil(stop / c) * c, c))
        grid = np.array(np.meshgrid(*ranges, indexing="ij")).reshape(len(ranges), -1).T
        return [self.by_origin[tuple(int(x) for x in o)] for o in grid]


def chunk_layout(path: Path, name: str = DATA_PATH) -> Layout:
    """Every stored chunk of dataset ``name`` (h5py ``get_chunk_info``)."""
    import h5py

    with h5py.File(path, "r") as f:
        ds = f[name]
        by_origin = {}
        for i in range(ds.id.get_num_chunks()):
            info = ds.id.get_chunk_info(i)
            origin = tuple(int(x) for x in info.chunk_offset)
            by_origin[origin] = Chunk(origin, int(info.byte_offset), int(info.size))
        return Layout(tuple(ds.shape), tuple(ds.chunks), by_origin)


@dataclass(frozen=True)
class Floor:
    """The least a reader must fetch: bytes of the chunks needed, and their contiguous runs."""

    chunks: int
    bytes: int
    runs: int

    def as_dict(self) -> dict[str, int]:
        return {"chunks": self.chunks, "bytes": self.bytes, "runs": self.runs}


def contiguous_runs(chunks: Iterable[Chunk]) -> int:
    """How many runs of back-to-back byte ranges the chunks form (sorted by offset)."""
    runs, end = 0, -1
    for c in sorted(chunks, key=lambda c: c.offset):
        if c.offset != end:
            runs += 1
        end = c.offset + c.size
    return runs


def floor(layout: Layout, selections: Sequence[Sequence[slice]]) -> Floor:
    """The floor of reading ``selections`` one after the other with a perfect cache: each
    chunk is fetched once, at the first selection that needs it, and each selection's new
    chunks cost one request per contiguous run."""
    seen: set[tuple[int, ...]] = set()
    nbytes = runs = 0
    for sel in selections:
        new = [c for c in layout.touched(sel) if c.origin not in seen]
        seen.update(c.origin for c in new)
        nbytes += sum(c.size for c in new)
        runs += contiguous_runs(new)
    return Floor(len(seen), nbytes, runs)


def floor_without_reuse(layout: Layout, selections: Sequence[Sequence[slice]]) -> Floor:
    """The same floor for a reader that keeps nothing between selections."""
    chunks = nbytes = runs = 0
    for sel in selections:
        touched = layout.touched(sel)
        chunks += len(touched)
        nbytes += sum(c.size for c in touched)
        runs += contiguous_runs(touched)
    return Floor(chunks, nbytes, runs)


# -- the selections ---------------------------------------------------------------------------


def full_slice(spec: FileSpec, rows: int) -> tuple[slice, slice]:
    """``data[0:rows, :]``: the first second of every channel at 30 kHz."""
    return (slice(0, min(rows, spec.samples)), slice(0, spec.channels))


def random_slices(
    spec: FileSpec, count: int, *, rows: int = 1500, cols: int = 32, seed: int = 7
) -> list[tuple[slice, slice]]:
    """``count`` small windows (default 50 ms x 32 channels) at seeded random places."""
    rng = np.random.default_rng(seed)
    rows, cols = min(rows, spec.samples), min(cols, spec.channels)
    out = []
    for _ in range(count):
        r = int(rng.integers(0, spec.samples - rows + 1))
        c = int(rng.integers(0, spec.channels - cols + 1))
        out.append((slice(r, r + rows), slice(c, c + cols)))
    return out


def describe_slices(sels: Sequence[Sequence[slice]]) -> list[list[int]]:
    """JSON-friendly ``[[start, stop], ...]`` per selection."""
    return [[x for s in sel for x in (int(s.start), int(s.stop))] for sel in sels]
