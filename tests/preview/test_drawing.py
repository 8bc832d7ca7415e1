"""Tree, plans, reads and PNGs for real NWB files, read through their index (no server)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from neuropil.errors import CorruptHdf5
from neuropil.index import IndexFile, build_index, open_index
from neuropil.services.preview import Kind, Node, planner
from neuropil.services.preview.extract import Picture, Raster, Series, extract
from neuropil.services.preview.render import render_png
from neuropil.services.preview.tree import walk
from tests.preview.nwb_files import HOSTILE

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

EXPECTED = {
    "place_cells": {
        "/acquisition/ElectricalSeries": Kind.TRACES,
        "/processing/behavior/Position/position": Kind.POSITION,
        "/processing/ecephys/LFP/lfp": Kind.TRACES,
        "/units": Kind.RASTER,
    },
    "two_photon": {
        "/acquisition/TwoPhotonSeries": Kind.IMAGE,
        "/processing/ophys/DfOverF/RoiResponseSeries": Kind.TRACES,
        "/processing/ophys/ImageSegmentation/PlaneSegmentation": Kind.MASKS,
        "/processing/ophys/SummaryImages/mean": Kind.IMAGE,
    },
    "icephys": {"/acquisition/sweep0": Kind.TRACES, "/stimulus/presentation/stimulus": Kind.TRACES},
    "hostile": {
        f"/acquisition/{HOSTILE}": Kind.TRACES,
        "/acquisition/bomb": Kind.TRACES,
        "/acquisition/plain": Kind.TRACES,
    },
}


@pytest.fixture
def opened(nwb_files: dict[str, Path]) -> Iterator[Any]:
    files: list[IndexFile] = []

    def open_one(name: str) -> tuple[IndexFile, dict[str, Any]]:
        path = nwb_files[name]
        index = json.loads(json.dumps(build_index(path, url=str(path))))
        files.append(open_index(index))
        return files[-1], index["refs"]

    yield open_one
    for f in files:
        f.close()


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    for member in node.members:
        yield from _nodes(member)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_offers_the_expected_previews(name: str, opened: Any) -> None:
    file, refs = opened(name)
    tree = walk(file, refs)
    assert {p.object: p.kind for p in planner.plan_all(tree)} == EXPECTED[name]
    for plan in planner.plan_all(tree):  # the image request plans from the object alone
        assert planner.plan_for(walk(file, refs, plan.object, depth=1)) == plan


def test_the_tree_has_types_shapes_dtypes_and_links(opened: Any) -> None:
    file, refs = opened("two_photon")
    nodes = {n.path: n for n in _nodes(walk(file, refs))}
    series = nodes["/acquisition/TwoPhotonSeries"]
    assert series.kind == "group" and series.neurodata_type == "TwoPhotonSeries"
    data = nodes["/acquisition/TwoPhotonSeries/data"]
    assert (data.shape, data.dtype, data.chunks) == ((20, 256, 300), "uint16", (1, 256, 300))
    plane = nodes["/acquisition/TwoPhotonSeries/imaging_plane"]
    assert plane.kind == "link" and plane.target == "/general/optophysiology/plane0"
    description = nodes["/session_description"]
    assert description.dtype == "str" and description.shape == ()
    assert nodes["/processing/ophys/SummaryImages/mean"].neurodata_type == "GrayscaleImage"


@pytest.mark.parametrize("name", ["place_cells", "two_photon", "icephys"])
def test_every_preview_draws_a_png_of_its_size(name: str, opened: Any) -> None:
    # How long it takes (the target: under a second each, on the demo data) is measured by
    # `python -m benchmarks --only preview`, not asserted here.
    file, refs = opened(name)
    for plan in planner.plan_all(walk(file, refs)):
        png = render_png(plan, extract(file, plan))
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and image.size == plan.size


def test_what_is_read_stays_within_the_plan(opened: Any) -> None:
    file, refs = opened("place_cells")
    plans = {p.object: p for p in planner.plan_all(walk(file, refs))}
    raw = extract(file, plans["/acquisition/ElectricalSeries"])
    assert isinstance(raw, Series) and raw.values.shape == (40_000, 8)  # 2 s at 20 kHz
    assert raw.times[-1] == pytest.approx((40_000 - 1) / 20_000)
    assert abs(raw.values).max() < 1e-3  # conversion applied: microvolts in volts
    units = extract(file, plans["/units"])
    assert isinstance(units, Raster) and [len(t) for t in units.trains][:3] == [40, 50, 60]
    position = extract(file, plans["/processing/behavior/Position/position"])
    assert isinstance(position, Series) and position.values.shape == (3000, 2)
    file, refs = opened("two_photon")
    plans = {p.object: p for p in planner.plan_all(walk(file, refs))}
    frame = extract(file, plans["/acquisition/TwoPhotonSeries"])
    assert isinstance(frame, Picture) and frame.pixels.shape == (256, 300)
    masks = extract(file, plans["/processing/ophys/ImageSegmentation/PlaneSegmentation"])
    assert isinstance(masks, Picture) and set(masks.pixels.ravel()) == set(range(11))


def test_hostile_files_fail_cleanly_or_draw_literally(opened: Any) -> None:
    file, refs = opened("hostile")
    plans = {p.object: p for p in planner.plan_all(walk(file, refs))}
    odd = plans[f"/acquisition/{HOSTILE}"]
    assert odd.rate is None and odd.conversion == 1.0  # a negative rate, a text conversion
    data = extract(file, odd)
    assert isinstance(data, Series) and data.values.shape == (53, 1)
    with Image.open(io.BytesIO(render_png(odd, data))) as image:  # "$\frac..." stays text
        assert image.size == odd.size
    with pytest.raises(CorruptHdf5, match="inflates to more than the 8064 bytes its shape holds"):
        extract(file, plans["/acquisition/bomb"])
    huge = walk(file, refs, "/acquisition/huge/claims_400MB")
    assert huge.shape == (20_000, 20_000) and planner.plan_for(huge) is None
