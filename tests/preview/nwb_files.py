"""NWB files for the preview tests, written with pynwb (and h5py for what pynwb refuses).

- ``place_cells``: raw ElectricalSeries (chunked gzip), LFP, units, head position;
- ``two_photon``: a TwoPhotonSeries, DfOverF, a mean image (Images/GrayscaleImage), ROIs;
- ``icephys``: one current-clamp sweep and its stimulus;
- ``hostile``: names made to break HTML, a chunk that inflates far past its shape (a zip
  bomb), an image that claims 400 MB of chunks, non-finite values, odd attributes.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
from hdmf.backends.hdf5.h5_utils import H5DataIO
from pynwb import NWBFile, TimeSeries
from pynwb.base import Images
from pynwb.behavior import Position, SpatialSeries
from pynwb.ecephys import LFP, ElectricalSeries
from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
from pynwb.image import GrayscaleImage
from pynwb.ophys import DfOverF

from tests.support import pynwb_builders as builders

START = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
#: A name made to break out of HTML text, attributes and URLs.
HOSTILE = "<script>alert(1)</script>\"'&x=1#?"


def _nwb(kind: str) -> NWBFile:
    return NWBFile(
        session_description=f"preview test: {kind}",
        identifier=f"preview-{kind}",
        session_start_time=START,
    )


def place_cells(path: Path) -> Path:
    nwb = _nwb("place-cells")
    rng = np.random.default_rng(7)
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group(
        name="shank0", description="shank", location="CA1", device=device
    )
    for _ in range(32):
        nwb.add_electrode(group=group, location="CA1")
    region = nwb.create_electrode_table_region(list(range(32)), "all electrodes")
    raw = (rng.normal(0, 40, (60_000, 32))).astype(np.int16)  # 3 s at 20 kHz
    nwb.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            data=H5DataIO(raw, compression="gzip", chunks=(8192, 32)),
            electrodes=region,
            rate=20_000.0,
            conversion=1e-6,
        )
    )
    ecephys = nwb.create_processing_module("ecephys", "LFP")
    lfp = rng.normal(0, 100, (10_000, 32)).astype(np.float32)  # 10 s at 1 kHz
    ecephys.add(
        LFP(electrical_series=ElectricalSeries(name="lfp", data=lfp, electrodes=region, rate=1e3))
    )
    for unit in range(12):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 60, 40 + 10 * unit)))
    t = np.arange(3_000) / 50.0
    behavior = nwb.create_processing_module("behavior", "tracking")
    xy = np.stack([np.cos(t / 5), np.sin(t / 5)], axis=1) * 0.4
    behavior.add(
        Position(
            spatial_series=SpatialSeries(
                name="position", data=xy, timestamps=t, reference_frame="arena centre", unit="m"
            )
        )
    )
    return builders.write(nwb, path)


def two_photon(path: Path) -> Path:
    nwb = _nwb("two-photon")
    rng = np.random.default_rng(8)
    frames = rng.integers(0, 4000, (20, 256, 300), dtype=np.uint16)
    plane = builders.add_two_photon(nwb, frames, chunks=(1, 256, 300), plane_description="CA1")
    ophys = nwb.create_processing_module("ophys", "optical physiology")
    ophys.add(Images(name="SummaryImages", images=[GrayscaleImage(name="mean", data=frames[0])]))
    _, rois = builders.add_segmentation(ophys, plane, description="ROIs")
    builders.add_square_rois(rois, 10, shape=(256, 300), step=(20, 25), size=(15, 15))
    dff = rng.normal(size=(600, 10)).astype(np.float32)
    builders.add_roi_responses(ophys, DfOverF(), rois, list(range(10)), dff, description="all")
    return builders.write(nwb, path)


def icephys(path: Path) -> Path:
    nwb = _nwb("icephys")
    electrode = builders.add_patch_electrode(nwb, description="pipette")
    samples = 20_000
    stimulus = CurrentClampStimulusSeries(
        name="stimulus",
        data=np.r_[np.zeros(5_000), np.full(10_000, 1e-10), np.zeros(5_000)],
        rate=20_000.0,
        electrode=electrode,
        gain=0.02,
    )
    response = CurrentClampSeries(
        name="sweep0",
        data=-0.065 + 0.01 * np.sin(np.arange(samples) / 300.0),
        rate=20_000.0,
        electrode=electrode,
        gain=0.02,
    )
    nwb.add_intracellular_recording(electrode=electrode, stimulus=stimulus, response=response)
    return builders.write(nwb, path)


def hostile(path: Path) -> Path:
    """An NWB file with hostile objects added by h5py (pynwb would refuse the names)."""
    nwb = _nwb("hostile")
    nwb.add_acquisition(TimeSeries(name="plain", data=np.arange(100.0), unit="V", rate=10.0))
    builders.write(nwb, path)
    with h5py.File(path, "a") as f:
        acquisition = f["acquisition"]
        odd = acquisition.create_group(HOSTILE)
        odd.attrs["neurodata_type"] = "TimeSeries<b>"
        data = odd.create_dataset("data", data=np.r_[np.arange(50.0), np.nan, np.inf, -np.inf])
        data.attrs["unit"] = "$\\frac{a}{b}$ <i>"
        data.attrs["conversion"] = "not a number"
        odd.create_dataset("starting_time", data=0.0).attrs["rate"] = -5.0
        bomb = acquisition.create_group("bomb")
        bomb.attrs["neurodata_type"] = "TimeSeries"
        chunk = bomb.create_dataset(
            "data", shape=(1000, 1), dtype="f8", chunks=(1000, 1), shuffle=True, compression="gzip"
        )
        # 64 MB of zeros as the compressed bytes of an 8 kB chunk (shuffled, so that no
        # reader can stop inflating after the rows it wants).
        chunk.id.write_direct_chunk((0, 0), zlib.compress(bytes(64 << 20), 9))
        bomb.create_dataset("starting_time", data=0.0).attrs["rate"] = 100.0
        images = acquisition.create_group("huge")
        images.attrs["neurodata_type"] = "Images"
        huge = images.create_dataset(
            "claims_400MB", shape=(20_000, 20_000), dtype="u1", chunks=(1000, 1000)
        )
        huge.attrs["neurodata_type"] = "GrayscaleImage"
        huge[0:10, 0:10] = 1
    return path


BUILDERS = {
    "place_cells": place_cells,
    "two_photon": two_photon,
    "icephys": icephys,
    "hostile": hostile,
}


def write_all(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return {name: build(directory / f"{name}.nwb") for name, build in BUILDERS.items()}
