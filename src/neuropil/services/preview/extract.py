"""Carrying out a plan: its bounded reads from an open index, shaped for drawing.

Only the reads the :class:`~.model.Plan` names are made (the planner bounded them), so a
file can make these functions fail but not read more. Values from the file are not
trusted: non-finite numbers become NaN, index columns are clipped to what was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuropil.index import IndexFile
from neuropil.services.preview.model import Kind, Plan, Read

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Series:
    """Samples over time: ``values`` has one column per channel (position: per axis)."""

    times: Array
    values: Array
    channels: Array
    #: "s" for seconds, "" when the file gives no time base (then times are sample numbers).
    time_unit: str


@dataclass(frozen=True)
class Raster:
    trains: list[Array]
    ids: Array


@dataclass(frozen=True)
class Picture:
    """Pixels (rows, columns[, colour]) or, for masks, labels (0 = background)."""

    pixels: Array


Extracted = Series | Raster | Picture


def extract(file: IndexFile, plan: Plan) -> Extracted:
    """The data a plan's preview draws."""
    if plan.kind in (Kind.TRACES, Kind.POSITION):
        return _series(file, plan)
    if plan.kind is Kind.RASTER:
        return _raster(file, plan)
    if plan.kind is Kind.MASKS:
        return Picture(_labels(_read(file, plan.data)))
    return Picture(_picture(_read(file, plan.data), plan))


def _read(file: IndexFile, read: Read) -> Array:
    return np.asarray(file[read.path][read.key])


def _finite(values: Array) -> Array:
    out = np.asarray(values, dtype=np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


# -- series ---------------------------------------------------------------------------------------
def _series(file: IndexFile, plan: Plan) -> Series:
    with np.errstate(all="ignore"):
        values = _finite(_read(file, plan.data))
        if values.ndim == 1:
            values = values[:, None]
        values = values * plan.conversion + plan.offset
        if "conversion" in plan.reads:
            values = values * _finite(_read(file, plan.reads["conversion"]))[None, :]
    times, unit = _times(file, plan, len(values))
    if plan.seconds is not None and unit == "s":
        keep = _within(times, plan.seconds)
        times, values = times[:keep], values[:keep]
    return Series(times, values, np.arange(values.shape[1]), unit)


def _times(file: IndexFile, plan: Plan, n: int) -> tuple[Array, str]:
    if "timestamps" in plan.reads:
        stamps = _finite(_read(file, plan.reads["timestamps"]))[:n]
        if len(stamps) == n and np.isfinite(stamps).any():
            return stamps, "s"
    elif plan.rate is not None:
        start = 0.0
        if "start" in plan.reads:
            first = _finite(_read(file, plan.reads["start"])).reshape(-1)
            start = float(first[0]) if first.size and np.isfinite(first[0]) else 0.0
        return start + np.arange(n) / plan.rate, "s"
    return np.arange(n, dtype=np.float64), ""


def _within(times: Array, seconds: float) -> int:
    """How many leading samples lie within ``seconds`` of the first finite time."""
    finite = np.flatnonzero(np.isfinite(times))
    if not finite.size:
        return len(times)
    later = np.flatnonzero(times > times[finite[0]] + seconds)
    return int(later[0]) if later.size else len(times)


# -- units ----------------------------------------------------------------------------------------
def _raster(file: IndexFile, plan: Plan) -> Raster:
    ends = np.asarray(_read(file, plan.reads["index"]), dtype=np.int64).reshape(-1)
    bound = len(plan.data.select[0])
    ends = np.maximum.accumulate(np.clip(ends, 0, bound)) if ends.size else ends
    last = int(ends[-1]) if ends.size else 0
    spikes = _finite(file[plan.data.path][0:last]) if last else np.zeros(0)
    starts = np.concatenate([[0], ends[:-1]])
    trains = [spikes[a:b] for a, b in zip(starts, ends, strict=True)]
    ids: Array = np.arange(len(trains))
    if "ids" in plan.reads:
        ids = np.asarray(_read(file, plan.reads["ids"])).reshape(-1)
    return Raster(trains, ids)


# -- images ---------------------------------------------------------------------------------------
def _picture(pixels: Array, plan: Plan) -> Array:
    if plan.data.path != plan.object:  # a frame of a series: (1, rows, columns[, c])
        pixels = pixels[0]
        if pixels.ndim == 3 and pixels.shape[2] not in (3, 4):
            pixels = pixels[:, :, 0]  # the first plane of a z-stack
    return pixels


def _labels(masks: Array) -> Array:
    """ROI masks (n, rows, columns) as one image of labels 1..n (0 where none is)."""
    weights = _finite(masks)
    weights[np.isnan(weights)] = 0
    if not weights.size:
        return np.zeros(masks.shape[1:], dtype=np.int64)
    strongest = weights.argmax(axis=0) + 1
    return np.where(weights.max(axis=0) > 0, strongest, 0)
