"""The preview planner: which objects get which preview, and every read within the bounds.

Nodes are made by hand: the planner sees only the tree (types, shapes, the chunk grid, a
few attributes), so files of any size can be described without writing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from neuropil.services.preview import budget, planner
from neuropil.services.preview.model import (
    MAX_CHANNELS,
    MAX_CHUNKS,
    MAX_DECODED_BYTES,
    MAX_MASKS,
    MAX_POSITION_SAMPLES,
    MAX_PREVIEWS,
    MAX_SIDE,
    MAX_SPIKES,
    MAX_UNITS,
    SECONDS,
    Kind,
    Node,
    Plan,
)


def ds(
    path: str,
    shape: tuple[int, ...],
    *,
    chunks: tuple[int, ...] | None = None,
    dtype: str = "int16",
    itemsize: int = 2,
    numeric: bool = True,
    kind: str | None = None,
    **attrs: Any,
) -> Node:
    return Node(
        path,
        "dataset",
        neurodata_type=kind,
        shape=shape,
        dtype=dtype,
        numeric=numeric,
        itemsize=itemsize if numeric else 0,
        chunks=chunks if chunks is not None else shape,
        attrs=attrs,
    )


def group(path: str, kind: str | None, *members: Node) -> Node:
    return Node(path, "group", neurodata_type=kind, members=members)


def series(
    path: str,
    kind: str,
    shape: tuple[int, ...],
    *,
    chunks: tuple[int, ...] | None = None,
    rate: float | None = 30_000.0,
    timestamps: bool = False,
    itemsize: int = 2,
) -> Node:
    time: Node
    if timestamps:
        time = ds(f"{path}/timestamps", (shape[0],), dtype="float64", itemsize=8)
    else:
        time = ds(f"{path}/starting_time", (), dtype="float64", itemsize=8, rate=rate)
    data = ds(f"{path}/data", shape, chunks=chunks, itemsize=itemsize, unit="volts")
    return group(path, kind, data, time)


def checked(plan: Plan | None) -> Plan:
    """The plan, which must exist."""
    assert plan is not None
    return plan


def within_bounds(plan: Plan, nodes: dict[str, Node]) -> None:
    """Every read of ``plan`` lies inside its dataset and within the chunk budget."""
    for read in plan.reads.values():
        node = nodes[read.path]
        assert node.shape is not None and len(read.select) == len(node.shape)
        for picks, extent in zip(read.select, node.shape, strict=True):
            assert picks.start >= 0 and (not picks or picks[-1] < extent)
        grid = budget.storage(node)
        assert grid is not None
        cost = budget.cost(grid[0], grid[1], read.select)
        assert cost.decoded_bytes <= MAX_DECODED_BYTES and cost.chunks <= MAX_CHUNKS


def by_path(root: Node) -> dict[str, Node]:
    found = {root.path: root}
    for member in root.members:
        found.update(by_path(member))
    return found


# -- which object gets which preview -------------------------------------------------------------
def test_a_large_electrical_series_shows_two_seconds_of_eight_channels() -> None:
    node = series("/acquisition/ElectricalSeries", "ElectricalSeries", (18_000_000, 384),
                  chunks=(65_536, 64))  # fmt: skip
    plan = checked(planner.plan_for(node))
    assert plan.kind is Kind.TRACES and plan.rate == 30_000.0
    assert plan.data.select == (range(int(SECONDS * 30_000)), range(MAX_CHANNELS))
    assert set(plan.reads) == {"data", "start"}
    assert plan.description == "first 2 s, 8 of 384 channels" and plan.unit == "volts"
    assert plan.size == (720, 300)
    within_bounds(plan, by_path(node))


def test_samples_and_chunks_are_capped_whatever_the_rate() -> None:
    node = series("/a/fast", "TimeSeries", (10**9,), chunks=(100_000,), rate=1e9)
    fast = checked(planner.plan_for(node))
    assert len(fast.data.select[0]) <= 60_000
    # Chunks of 8 MB per chunk row of 64 channels: only 8 chunk rows fit 64 MiB.
    wide = series("/a/wide", "ElectricalSeries", (10**7, 4096), chunks=(1024, 4096))
    plan = checked(planner.plan_for(wide))
    assert len(plan.data.select[0]) == (MAX_DECODED_BYTES // (1024 * 4096 * 2)) * 1024
    within_bounds(plan, by_path(wide))


def test_a_dataset_stored_in_one_huge_block_gets_no_preview() -> None:
    whole = series("/a/x", "ElectricalSeries", (10**6, 384))  # one 768 MB chunk
    assert planner.plan_for(whole) is None


def test_irregular_series_read_their_timestamps_over_the_same_rows() -> None:
    node = series("/processing/ecephys/lfp", "TimeSeries", (500_000, 3), timestamps=True)
    plan = checked(planner.plan_for(node))
    assert plan.kind is Kind.TRACES and plan.seconds == SECONDS and plan.rate is None
    assert plan.reads["timestamps"].select == (plan.data.select[0],)
    within_bounds(plan, by_path(node))


def test_timestamps_through_a_soft_link_are_read_where_they_point() -> None:
    linked = Node(
        "/b/speed/timestamps",
        "link",
        shape=(300,),
        dtype="float64",
        numeric=True,
        itemsize=8,
        chunks=(300,),
        target="/b/position/timestamps",
    )
    node = group("/b/speed", "TimeSeries", ds("/b/speed/data", (300,)), linked)
    plan = checked(planner.plan_for(node))
    assert plan.reads["timestamps"].path == "/b/speed/timestamps"


def test_position_is_a_path_of_the_first_samples() -> None:
    node = series("/b/Position/pos", "SpatialSeries", (10**6, 2), timestamps=True)
    plan = checked(planner.plan_for(node))
    assert plan.kind is Kind.POSITION and plan.size == (400, 400)
    assert plan.data.select == (range(MAX_POSITION_SAMPLES), range(2))
    within_bounds(plan, by_path(node))


def test_units_read_the_first_units_and_a_bounded_number_of_spikes() -> None:
    node = group(
        "/units",
        "Units",
        ds("/units/spike_times", (5_000_000,), dtype="float64", itemsize=8, kind="VectorData"),
        ds("/units/spike_times_index", (800,), dtype="uint32", itemsize=4, kind="VectorIndex"),
        ds("/units/id", (800,), dtype="int64", itemsize=8),
        ds("/units/quality", (800,), dtype="str", numeric=False),
    )
    plan = checked(planner.plan_for(node))
    assert plan.kind is Kind.RASTER
    assert plan.reads["index"].select == (range(MAX_UNITS),)
    assert plan.reads["ids"].select == (range(MAX_UNITS),)
    assert plan.data.select == (range(MAX_SPIKES),)
    within_bounds(plan, by_path(node))


def test_a_frame_of_an_image_series_is_sampled_down_to_the_size_shown() -> None:
    node = series("/acquisition/TwoPhotonSeries", "TwoPhotonSeries", (9000, 2048, 1536),
                  chunks=(1, 2048, 1536))  # fmt: skip
    plan = checked(planner.plan_for(node))
    assert plan.kind is Kind.IMAGE and plan.size == (400, 400)
    frame, rows, columns = plan.data.select
    assert frame == range(1) and rows.step == columns.step == 4
    assert max(len(rows), len(columns)) <= MAX_SIDE
    assert plan.description == "frame 1 of 9000, 2048 x 1536 pixels, every 4th pixel"
    within_bounds(plan, by_path(node))


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((512, 512), (512, 512)), ((600, 800, 3), (400, 3)), ((64, 64, 4), (64, 4))],
)
def test_images_grey_and_colour(shape: tuple[int, ...], expected: tuple[int, int]) -> None:
    image = ds("/processing/ophys/SummaryImages/mean", shape, kind="RGBImage", itemsize=1)
    plan = checked(planner.plan_for(image))
    assert plan.kind is Kind.IMAGE and plan.object == image.path
    assert (len(plan.data.select[1]), len(plan.data.select[-1])) == expected


def test_images_that_would_decode_too_much_have_no_preview() -> None:
    claims = ds("/huge", (20_000, 20_000), chunks=(1000, 1000), kind="GrayscaleImage")
    assert planner.plan_for(claims) is None  # every chunk holds a sampled row: 800 MB
    rows = ds("/ok", (20_000, 20_000), chunks=(1, 20_000), kind="GrayscaleImage", itemsize=1)
    assert planner.plan_for(rows) is not None  # 500 sampled rows of 20 kB


def test_roi_masks_take_the_first_masks_that_fit() -> None:
    masks = ds("/p/PlaneSegmentation/image_mask", (500, 512, 512), chunks=(1, 512, 512),
               dtype="float32", itemsize=4)  # fmt: skip
    plan = checked(planner.plan_for(group("/p/PlaneSegmentation", "PlaneSegmentation", masks)))
    assert plan.kind is Kind.MASKS and plan.data.select[0] == range(MAX_MASKS)
    one_chunk = ds(masks.path, (500, 512, 512), dtype="float32", itemsize=4)
    assert planner.plan_for(group("/p/PlaneSegmentation", "PlaneSegmentation", one_chunk)) is None


@pytest.mark.parametrize(
    "node",
    [
        group("/general", None, ds("/general/x", (3,))),
        group("/intervals/trials", "TimeIntervals", ds("/intervals/trials/start_time", (9,))),
        series("/a/empty", "TimeSeries", (0, 4)),
        series("/a/scalar", "TimeSeries", ()),
        group("/a/text", "TimeSeries", ds("/a/text/data", (9,), numeric=False)),
        group("/a/untimed", "SomeExtension", ds("/a/untimed/data", (9, 2))),
        series("/a/five_d", "TimeSeries", (9, 2, 2, 2, 2)),
        ds("/a/not_image", (9, 9, 7), kind="Image"),
        Node("/a/link", "link", target="/elsewhere"),
    ],
    ids=lambda n: n.path,
)
def test_objects_without_a_preview(node: Node) -> None:
    assert planner.plan_for(node) is None


def test_unknown_types_that_look_like_time_series_get_one() -> None:
    plan = planner.plan_for(series("/a/custom", "MyLabsSeries", (9, 2), rate=10.0))
    assert plan is not None and plan.kind is Kind.TRACES
    frames = planner.plan_for(series("/a/movie", "MyLabsMovie", (9, 64, 64), rate=10.0))
    assert frames is not None and frames.kind is Kind.IMAGE


def test_nonsense_attributes_are_ignored() -> None:
    for rate in (-5.0, 0.0, 1e300):
        plan = checked(planner.plan_for(series("/a/x", "TimeSeries", (100,), rate=rate)))
        assert plan.rate is None and plan.data.select == (range(100),)
        assert plan.description == "first 100 samples, 1 channel"


def test_a_file_offers_at_most_a_dozen_previews_and_skips_the_schema() -> None:
    many = [series(f"/acquisition/s{i:02}", "TimeSeries", (10,)) for i in range(20)]
    spec = group("/specifications", None, series("/specifications/s", "TimeSeries", (10,)))
    root = group("/", None, spec, group("/acquisition", None, *many))
    plans = planner.plan_all(root)
    assert len(plans) == MAX_PREVIEWS
    assert [p.object for p in plans] == [f"/acquisition/s{i:02}" for i in range(MAX_PREVIEWS)]


# -- the chunk budget ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("picks", "chunk", "expected"),
    [
        (range(0), 10, 0),
        (range(10), 10, 1),
        (range(11), 10, 2),
        (range(5, 25), 10, 3),
        (range(0, 100, 10), 10, 10),
        (range(0, 100, 30), 10, 4),
        (range(0, 100, 3), 10, 10),
    ],
)
def test_chunks_touched_along_an_axis(picks: range, chunk: int, expected: int) -> None:
    assert budget.touched(picks, chunk) == expected
    assert expected == len({i // chunk for i in picks})


def test_cost_counts_whole_chunks() -> None:
    cost = budget.cost((100, 10), 4, [range(150), range(3)])
    assert cost.chunks == 2 and cost.decoded_bytes == 2 * 100 * 10 * 4
    assert budget.fit_rows(ds("/x", (10**6,), chunks=(7,), itemsize=8), 10**6, []) == (
        MAX_CHUNKS * 7
    )
