"""Small NWB files, one per neurodata type family, written by pynwb the way labs write them.

Together they hold what an index must get right for pynwb: chunked gzip series, dynamic
tables with ragged and region columns, object references (electrode groups, the spec
location), compound datasets (pixel masks, icephys time-series references), soft links
(shared timestamps, imaging planes), scalars and strings in ASCII and UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hdmf.backends.hdf5.h5_utils import H5DataIO
from pynwb import NWBFile, TimeSeries
from pynwb.behavior import BehavioralEvents, BehavioralTimeSeries, Position, SpatialSeries
from pynwb.file import Subject
from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
from pynwb.ophys import Fluorescence

from neuropil.demo import make_nwb_files
from tests.support import pynwb_builders as builders

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _nwbfile(family: str) -> NWBFile:
    nwb = NWBFile(
        session_description=f"A small {family} session for neuropil's reader tests, µ-scale",
        identifier=f"neuropil-test-{family}",
        session_start_time=START,
        experimenter=["Tester, Ada"],
        keywords=[family, "test"],
    )
    nwb.subject = Subject(subject_id="m1", species="Mus musculus", sex="F", age="P60D")
    return nwb


def ophys(path: Path) -> Path:
    nwb = _nwbfile("ophys")
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 4000, (40, 24, 32), dtype=np.uint16)
    plane = builders.add_two_photon(
        nwb,
        frames,
        chunks=(10, 24, 32),
        plane_description="CA1 pyramidal layer",
        device_description="two-photon microscope",
    )
    module = nwb.create_processing_module("ophys", "optical physiology")
    segmentation, planes = builders.add_segmentation(module, plane, description="hand drawn")
    builders.add_square_rois(planes, 5, shape=(24, 32), step=(4, 5), size=(3, 4))
    pixel_planes = segmentation.create_plane_segmentation(
        name="PixelSegmentation", description="pixel masks", imaging_plane=plane
    )
    for roi in range(3):
        pixel_planes.add_roi(pixel_mask=[(roi, roi + 1, 0.5), (roi + 1, roi + 2, 1.0)])
    traces = rng.normal(size=(40, 3)).astype(np.float32)
    builders.add_roi_responses(
        module, Fluorescence(), planes, [0, 2, 4], traces, description="three rois"
    )
    return builders.write(nwb, path)


def icephys(path: Path) -> Path:
    nwb = _nwbfile("icephys")
    electrode = builders.add_patch_electrode(nwb, description="patch pipette")
    rows = []
    for sweep in range(3):
        stimulus = CurrentClampStimulusSeries(
            name=f"stimulus{sweep}",
            data=np.full(200, 1e-10 * (sweep + 1)),
            starting_time=float(sweep),
            rate=10_000.0,
            electrode=electrode,
            gain=0.02,
            sweep_number=np.uint32(sweep),
        )
        response = CurrentClampSeries(
            name=f"response{sweep}",
            data=np.sin(np.arange(200) / 10.0) * 0.01 * (sweep + 1),
            conversion=1e-3,
            resolution=np.nan,
            starting_time=float(sweep),
            rate=10_000.0,
            electrode=electrode,
            gain=0.02,
            bias_current=0.0,
            bridge_balance=0.0,
            capacitance_compensation=0.0,
            sweep_number=np.uint32(sweep),
        )
        rows.append(
            nwb.add_intracellular_recording(
                electrode=electrode, stimulus=stimulus, response=response
            )
        )
    simultaneous = [nwb.add_icephys_simultaneous_recording(recordings=[r]) for r in rows]
    sequential = nwb.add_icephys_sequential_recording(
        simultaneous_recordings=simultaneous, stimulus_type="steps"
    )
    repetition = nwb.add_icephys_repetition(sequential_recordings=[sequential])
    nwb.add_icephys_experimental_condition(repetitions=[repetition])
    return builders.write(nwb, path)


def behavior(path: Path) -> Path:
    nwb = _nwbfile("behavior")
    rng = np.random.default_rng(2)
    timestamps = np.cumsum(rng.uniform(0.015, 0.025, 300))
    xy = np.cumsum(rng.normal(0, 0.01, (300, 2)), axis=0)
    module = nwb.create_processing_module("behavior", "tracked behaviour")
    position = Position(
        spatial_series=SpatialSeries(
            name="position",
            description="head position",
            data=H5DataIO(xy, compression="gzip", chunks=(64, 2)),
            timestamps=timestamps,
            reference_frame="arena corner",
        )
    )
    module.add(position)
    speed = TimeSeries(
        name="speed",
        data=np.hypot(*np.diff(xy, axis=0, prepend=0).T),
        unit="m/s",
        timestamps=position.spatial_series["position"],  # a soft link to its timestamps
    )
    module.add(BehavioralTimeSeries(time_series=speed))
    licks = TimeSeries(
        name="licks",
        data=np.ones(25, dtype=np.int8),
        unit="n.a.",
        timestamps=np.sort(rng.uniform(0, 6, 25)),
    )
    module.add(BehavioralEvents(time_series=licks))
    nwb.add_trial_column(name="outcome", description="reward or not")
    nwb.add_trial_column(name="condition", description="block label")
    for trial in range(6):
        nwb.add_trial(
            start_time=trial * 1.0,
            stop_time=trial + 0.8,
            outcome=trial % 2 == 0,
            condition=["left", "right", "both"][trial % 3],
        )
    nwb.add_epoch(start_time=0.0, stop_time=3.0, tags=["first", "half"])
    nwb.add_epoch(start_time=3.0, stop_time=6.0, tags=["second"])
    return builders.write(nwb, path)


def ecephys(path: Path) -> Path:
    """The demo session: chunked gzip ElectricalSeries, LFP, electrodes and units."""
    made = make_nwb_files(path.parent / f"{path.stem}-demo")[0]
    made.rename(path)
    return path


FAMILIES: dict[str, Callable[[Path], Path]] = {
    "ecephys": ecephys,
    "ophys": ophys,
    "icephys": icephys,
    "behavior": behavior,
}


def write_all(directory: Path) -> dict[str, Path]:
    return {name: make(directory / f"{name}.nwb") for name, make in FAMILIES.items()}
