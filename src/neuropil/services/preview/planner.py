"""Which objects get which preview, and exactly what each preview reads.

Decided from the tree alone (:class:`~.model.Node`: types, shapes, the chunk grid, a few
attributes), so the file page can offer previews without reading data and the image
request reads only what its plan names. The NWB type decides first; a group that looks
like a time series (a numeric ``data`` and ``starting_time`` or ``timestamps``) gets one
whatever its extension type is called. Every read is bounded (:mod:`.model`) and must fit
the chunk budget (:mod:`.budget`); an object whose smallest useful read does not fit gets
no preview.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from neuropil.services.preview import budget
from neuropil.services.preview.model import (
    MAX_CHANNELS,
    MAX_MASKS,
    MAX_POSITION_SAMPLES,
    MAX_PREVIEWS,
    MAX_SAMPLES,
    MAX_SIDE,
    MAX_SPIKES,
    MAX_UNITS,
    SECONDS,
    Kind,
    Node,
    Plan,
    Read,
)

IMAGE_TYPES = frozenset({"Image", "GrayscaleImage", "RGBImage", "RGBAImage"})
IMAGE_SERIES_TYPES = frozenset(
    {"ImageSeries", "TwoPhotonSeries", "OnePhotonSeries", "ImageMaskSeries", "OpticalSeries"}
)
POSITION_TYPES = frozenset({"SpatialSeries"})
UNITS_TYPES = frozenset({"Units"})
MASK_TYPES = frozenset({"PlaneSegmentation"})


def plan_all(root: Node, limit: int = MAX_PREVIEWS) -> list[Plan]:
    """Previews of a file, in tree order (acquisition before processing, as NWB lists them)."""
    found: list[Plan] = []
    for node in _objects(root):
        plan = plan_for(node)
        if plan is not None:
            found.append(plan)
            if len(found) >= limit:
                break
    return found


def _objects(node: Node) -> Iterator[Node]:
    yield node
    for member in node.members:
        if member.path.lstrip("/").startswith("specifications"):
            continue  # the NWB schema: text only
        yield from _objects(member)


def plan_for(node: Node) -> Plan | None:
    """The preview of one object, or ``None`` when it has none."""
    kind = node.neurodata_type or ""
    if node.kind == "dataset":
        return _image(node) if kind in IMAGE_TYPES else None
    if node.kind != "group":
        return None
    if kind in UNITS_TYPES:
        return _raster(node)
    if kind in MASK_TYPES:
        return _masks(node)
    data = node.member("data")
    if data is None or not data.shape or not data.numeric or not data.shape[0]:
        return None
    if kind in POSITION_TYPES:
        return _position(node, data)
    timed = node.member("starting_time") is not None or node.member("timestamps") is not None
    if kind in IMAGE_SERIES_TYPES or (timed and len(data.shape) in (3, 4)):
        return _frame(node, data)
    if timed and len(data.shape) in (1, 2):
        return _traces(node, data)
    return None


# -- time series ---------------------------------------------------------------------------------
def _traces(node: Node, data: Node) -> Plan | None:
    assert data.shape is not None
    channels = range(min(data.shape[1], MAX_CHANNELS)) if len(data.shape) == 2 else None
    rest = [channels] if channels is not None else []
    rate = _rate(node)
    wanted = min(data.shape[0], MAX_SAMPLES)
    if rate is not None:
        wanted = min(wanted, max(1, math.ceil(SECONDS * rate)))
    rows = _fit(node, data, wanted, rest)
    if not rows:
        return None
    reads = {"data": Read(data.path, (range(rows), *rest)), **_times(node, rows)}
    reads.update(_conversion(node, channels))
    total = data.shape[1] if len(data.shape) == 2 else 1
    shown = f"{len(channels)} of {total} channels" if channels is not None else "1 channel"
    if rate is not None:
        span = f"{rows / rate:.3g} s"
    elif "timestamps" in reads:
        span = f"{SECONDS:g} s (at most {rows} samples)"
    else:
        span = f"{rows} samples"
    return _plan(Kind.TRACES, node, reads, f"first {span}, {shown}", data, rate=rate)


def _position(node: Node, data: Node) -> Plan | None:
    assert data.shape is not None
    dims = range(min(data.shape[1], 3)) if len(data.shape) == 2 else None
    rest = [dims] if dims is not None else []
    rows = _fit(node, data, min(data.shape[0], MAX_POSITION_SAMPLES), rest)
    if not rows or len(data.shape) > 2:
        return None
    reads = {"data": Read(data.path, (range(rows), *rest)), **_times(node, rows)}
    what = "path" if dims is not None and len(dims) >= 2 else "trace"
    plan = _plan(Kind.POSITION, node, reads, f"{what} of the first {rows} samples", data)
    return plan


def _fit(node: Node, data: Node, rows: int, rest: list[range]) -> int:
    """Rows of ``data`` (and of its timestamps) that one preview can afford."""
    rows = budget.fit_rows(data, rows, rest)
    stamps = node.member("timestamps")
    if rows and stamps is not None:
        if stamps.shape is None or len(stamps.shape) != 1:
            return 0
        rows = budget.fit_rows(stamps, min(rows, stamps.shape[0]), [])
    return rows


def _times(node: Node, rows: int) -> dict[str, Read]:
    stamps = node.member("timestamps")
    if stamps is not None:
        return {"timestamps": Read(stamps.path, (range(rows),))}
    start = node.member("starting_time")
    if start is not None and start.numeric and start.shape == ():
        return {"start": Read(start.path, ())}
    return {}


def _rate(node: Node) -> float | None:
    start = node.member("starting_time")
    if start is None or node.member("timestamps") is not None:
        return None
    rate = start.attrs.get("rate")
    return rate if isinstance(rate, float) and 0 < rate < 1e12 else None


def _conversion(node: Node, channels: range | None) -> dict[str, Read]:
    factors = node.member("channel_conversion")
    if channels is None or factors is None or factors.shape is None or len(factors.shape) != 1:
        return {}
    if factors.shape[0] < len(channels) or not budget.affordable(factors, [channels]):
        return {}
    return {"conversion": Read(factors.path, (channels,))}


# -- units ----------------------------------------------------------------------------------------
def _raster(node: Node) -> Plan | None:
    times, index = node.member("spike_times"), node.member("spike_times_index")
    if times is None or index is None or times.shape is None or index.shape is None:
        return None
    if len(times.shape) != 1 or len(index.shape) != 1 or not index.numeric:
        return None
    units = budget.fit_rows(index, min(index.shape[0], MAX_UNITS), [])
    spikes = budget.fit_rows(times, min(times.shape[0], MAX_SPIKES), [])
    if not units or not spikes:
        return None
    reads = {
        "data": Read(times.path, (range(spikes),)),
        "index": Read(index.path, (range(units),)),
    }
    ids = node.member("id")
    if ids is not None and ids.shape == index.shape and budget.affordable(ids, [range(units)]):
        reads["ids"] = Read(ids.path, (range(units),))
    described = f"spikes of the first {units} of {index.shape[0]} units"
    return _plan(Kind.RASTER, node, reads, described, times, unit="s")


# -- images ---------------------------------------------------------------------------------------
def _image(node: Node) -> Plan | None:
    if node.shape is None or len(node.shape) not in (2, 3):
        return None
    if len(node.shape) == 3 and node.shape[2] not in (3, 4):
        return None
    colour = [range(node.shape[2])] if len(node.shape) == 3 else []
    select = _sampled(node.shape[0], node.shape[1])
    if select is None or not budget.affordable(node, [*select, *colour]):
        return None
    reads = {"data": Read(node.path, (*select, *colour))}
    return _plan(Kind.IMAGE, node, reads, _sampling(node.shape, select), node)


def _frame(node: Node, data: Node) -> Plan | None:
    assert data.shape is not None
    shape = data.shape
    if len(shape) not in (3, 4):
        return None
    select = _sampled(shape[1], shape[2])
    if select is None:
        return None
    extra = []
    if len(shape) == 4:  # colour channels, or a z-stack whose first plane is shown
        extra = [range(shape[3])] if shape[3] in (3, 4) else [range(1)]
    picks = (range(1), *select, *extra)
    if not budget.affordable(data, picks):
        return None
    reads = {"data": Read(data.path, picks)}
    described = f"frame 1 of {shape[0]}, {_sampling(shape[1:3], select)}"
    return _plan(Kind.IMAGE, node, reads, described, data)


def _masks(node: Node) -> Plan | None:
    masks = node.member("image_mask")
    if masks is None or masks.shape is None or len(masks.shape) != 3 or not masks.shape[0]:
        return None
    select = _sampled(masks.shape[1], masks.shape[2])
    if select is None:
        return None
    count = min(masks.shape[0], MAX_MASKS)
    while count and not budget.affordable(masks, [range(count), *select]):
        count //= 2
    if not count:
        return None
    reads = {"data": Read(masks.path, (range(count), *select))}
    described = f"the first {count} of {masks.shape[0]} ROI masks"
    return _plan(Kind.MASKS, node, reads, described, masks)


def _sampled(height: int, width: int) -> tuple[range, range] | None:
    """Rows and columns taken of an image: every ``step``-th, to at most MAX_SIDE a side."""
    if height < 1 or width < 1:
        return None
    step = max(1, math.ceil(max(height, width) / MAX_SIDE))
    return range(0, height, step), range(0, width, step)


def _sampling(shape: tuple[int, ...], select: tuple[range, range]) -> str:
    step = select[0].step
    size = f"{shape[0]} x {shape[1]} pixels"
    return size if step == 1 else f"{size}, every {step}th pixel"


def _plan(
    kind: Kind,
    node: Node,
    reads: dict[str, Read],
    description: str,
    data: Node,
    *,
    rate: float | None = None,
    unit: str | None = None,
) -> Plan:
    conversion = data.attrs.get("conversion", 1.0)
    offset = data.attrs.get("offset", 0.0)
    return Plan(
        kind,
        node.path,
        node.neurodata_type,
        reads,
        description,
        rate=rate,
        conversion=conversion if isinstance(conversion, float) and conversion != 0 else 1.0,
        offset=offset if isinstance(offset, float) else 0.0,
        unit=unit if unit is not None else str(data.attrs.get("unit", "")),
        seconds=SECONDS if kind is Kind.TRACES and "timestamps" in reads else None,
    )
