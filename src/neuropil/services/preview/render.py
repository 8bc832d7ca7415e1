"""Drawing a preview as a PNG of a fixed size (matplotlib, Agg, no pyplot).

Text from the file (object paths) is drawn literally: ``parse_math=False`` keeps a name
such as ``$\\frac{}...`` from being parsed as mathtext. Long traces are reduced to a
min/max envelope per pixel column, which keeps spikes visible and the drawing fast.
pyplot is never imported (no backend is chosen, no GUI can start); matplotlib's global state
(fonts, caches) is not thread-safe, so drawing is serialized.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from neuropil.services.preview.extract import Extracted, Picture, Raster, Series
from neuropil.services.preview.model import Kind, Plan

Array = np.ndarray[Any, Any]
DPI = 100
MAX_TITLE = 90
_LOCK = threading.Lock()


def render_png(plan: Plan, data: Extracted) -> bytes:
    """The preview of ``plan`` drawn from ``data``, as PNG bytes of ``plan.size`` pixels."""
    width, height = plan.size
    with _LOCK:
        figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        canvas = FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw(axes, plan, data)
        title = _title(plan.object, width)
        figure.text(0.01, 0.985, title, ha="left", va="top", fontsize=9, parse_math=False)
        figure.subplots_adjust(**_margins(plan.kind))
        canvas.draw()  # type: ignore[no-untyped-call]  # the Agg canvas has no stubs
        rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
        pixels = Image.fromarray(rgba).convert("RGB")
    out = io.BytesIO()
    # Pillow encodes the drawn pixels once (savefig would draw again); level 1 is ~10x
    # faster than the default and the images are barely larger.
    pixels.save(out, format="png", compress_level=1)
    return out.getvalue()


def _title(path: str, width: int) -> str:
    """The object's path, cut at the front to what fits the figure (the end names it)."""
    room = min(MAX_TITLE, width // 7)  # about 6.5 pixels a character at 9 points
    return path if len(path) <= room else "…" + path[-(room - 1) :]


def _margins(kind: Kind) -> dict[str, float]:
    if kind in (Kind.TRACES, Kind.RASTER):
        return {"left": 0.11, "right": 0.98, "bottom": 0.15, "top": 0.9}
    return {"left": 0.17, "right": 0.96, "bottom": 0.12, "top": 0.92}


def _draw(axes: Axes, plan: Plan, data: Extracted) -> None:
    if isinstance(data, Series):
        if plan.kind is Kind.POSITION and data.values.shape[1] >= 2:
            _path(axes, data, plan.unit)
        else:
            _traces(axes, data, plan.unit, plan.size[0])
    elif isinstance(data, Raster):
        _raster(axes, data)
    elif isinstance(data, Picture):
        _picture(axes, data, labels=plan.kind is Kind.MASKS)


def _traces(axes: Axes, data: Series, unit: str, width: int) -> None:
    times, values = _envelope(data.times, data.values, width)
    if values.shape[1] == 1:
        axes.plot(times, values[:, 0], linewidth=0.6)
        axes.set_ylabel(unit, parse_math=False)
    else:
        spacing = _spacing(values)
        centred = values - _median(values)[None, :]
        offsets = -np.arange(values.shape[1]) * spacing
        axes.plot(times, centred + offsets[None, :], linewidth=0.5)
        axes.set_yticks(offsets, [str(c) for c in data.channels])
        axes.set_ylabel("channel")
    axes.set_xlabel("time (s)" if data.time_unit == "s" else "sample")
    if len(times) and np.isfinite(times).any():
        axes.set_xlim(np.nanmin(times), np.nanmax(times))


def _envelope(times: Array, values: Array, width: int) -> tuple[Array, Array]:
    """Per pixel column, the minimum and maximum of each channel (in time order)."""
    n = len(times)
    if n <= 4 * width:
        return times, values
    per = n // width
    cut = per * width
    blocks = values[:cut].reshape(width, per, values.shape[1])
    low, high = np.fmin.reduce(blocks, axis=1), np.fmax.reduce(blocks, axis=1)
    both = np.stack([low, high], axis=1).reshape(2 * width, values.shape[1])
    edges = times[:cut].reshape(width, per)[:, [0, -1]].reshape(-1)
    return edges, both


def _median(values: Array) -> Array:
    finite = np.where(np.isfinite(values), values, 0.0)
    return np.median(finite, axis=0)


def _spacing(values: Array) -> float:
    finite = values[np.isfinite(values).all(axis=1)]
    if not len(finite):
        return 1.0
    spread = np.percentile(finite, 99.5, axis=0) - np.percentile(finite, 0.5, axis=0)
    step = float(np.max(spread))
    return step if np.isfinite(step) and step > 0 else 1.0


def _path(axes: Axes, data: Series, unit: str) -> None:
    x, y = data.values[:, 0], data.values[:, 1]
    axes.plot(x, y, linewidth=0.6)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if finite.size:
        axes.plot([x[finite[0]]], [y[finite[0]]], "o", markersize=4, label="start")
    axes.set_aspect("equal", adjustable="datalim")
    suffix = f" ({unit})" if unit else ""
    axes.set_xlabel("x" + suffix, parse_math=False)
    axes.set_ylabel("y" + suffix, parse_math=False)


def _raster(axes: Axes, data: Raster) -> None:
    trains = [t[np.isfinite(t)] for t in data.trains]
    if any(len(t) for t in trains):
        rows = [float(i) for i in range(len(trains))]
        axes.eventplot(trains, lineoffsets=rows, linelengths=0.8, linewidths=0.6)
    ticks = np.arange(len(trains))
    if len(ticks) > 12:
        ticks = ticks[:: int(np.ceil(len(ticks) / 12))]
    axes.set_yticks(ticks, [str(data.ids[i]) if i < len(data.ids) else "" for i in ticks])
    axes.set_ylim(len(trains) - 0.5, -0.5)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("unit")


def _picture(axes: Axes, data: Picture, *, labels: bool) -> None:
    pixels = data.pixels
    if labels:
        masked = np.ma.masked_equal(pixels, 0)
        axes.imshow(masked, cmap="tab20", interpolation="nearest")
        axes.set_facecolor("black")
    elif pixels.ndim == 3:
        axes.imshow(_colour(pixels), interpolation="nearest")
    else:
        finite = np.asarray(pixels, dtype=np.float64)
        low, high = _limits(finite)
        axes.imshow(finite, cmap="gray", vmin=low, vmax=high, interpolation="nearest")


def _limits(pixels: Array) -> tuple[float, float]:
    finite = pixels[np.isfinite(pixels)]
    if not finite.size:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(finite, [1, 99]))
    return (low, high) if high > low else (low, low + 1.0)


def _colour(pixels: Array) -> Array:
    if pixels.dtype == np.uint8:
        return pixels
    values = np.asarray(pixels, dtype=np.float64)
    values[~np.isfinite(values)] = 0
    top = float(values.max()) if values.size else 0.0
    return np.clip(values / top if top > 0 else values, 0, 1)
