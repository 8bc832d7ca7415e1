"""The extracellular sessions as NWB: probe, broadband, LFP, sorted units and position.

The layout is the common one on DANDI: the electrodes table in ``general``, a chunked,
gzip-compressed int16 ``ElectricalSeries`` in ``acquisition``, the ``LFP`` in an ``ecephys``
processing module, ``Position`` in a ``behavior`` module and the sorted ``units``. The
values come from :mod:`neuropil.demo_data.hippocampus`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuropil.demo_data import hippocampus
from neuropil.demo_data.hippocampus import TRACK_WIDTH, UV_PER_BIT, Behavior, Cells
from neuropil.demo_data.sessions import DemoSession, new_nwbfile, write_nwbfile

if TYPE_CHECKING:
    from pynwb import NWBFile

#: Seeds the cells (their place fields) apart from the sessions, so both days share them.
_CELLS_STREAM = 1000


@dataclass(frozen=True)
class RecordingShape:
    """How much data an extracellular session holds.

    The default is the small session the tests use (2 s of everything, 8 units); the demo
    seeds :data:`DEMO_SHAPE`. ``duration`` is the broadband excerpt at the start of the
    session; behaviour, LFP and spikes last ``session_duration`` (``None``: ``duration``).
    """

    duration: float = 2.0  # seconds of broadband data
    channels: int = 16
    rate: float = 20_000.0  # Hz, broadband
    lfp_rate: float = 1_000.0  # Hz
    position_rate: float = 50.0  # Hz
    units: int = 8
    session_duration: float | None = None  # seconds
    lfp_channel_step: int = 1  # the LFP keeps every n-th channel

    @property
    def samples(self) -> int:
        """Broadband samples per channel."""
        return round(self.duration * self.rate)

    @property
    def session_seconds(self) -> float:
        return max(self.duration, self.session_duration or 0.0)

    @property
    def lfp_channels(self) -> list[int]:
        return list(range(0, self.channels, self.lfp_channel_step))


#: Three minutes on the track (about 30 runs along it): clear place fields in under 2 MB.
DEMO_SHAPE = RecordingShape(duration=1.0, session_duration=180.0, units=16, lfp_channel_step=4)


def write_ecephys_session(
    path: Path,
    session: DemoSession,
    *,
    shape: RecordingShape,
    seed: int,
    rng: np.random.Generator,
) -> Path:
    """Simulate one session on the track and write it to ``path``."""
    nwb = new_nwbfile(session, rng)
    cells = hippocampus.place_cells(
        shape.units, shape.channels, np.random.default_rng([seed, _CELLS_STREAM])
    )
    behavior = hippocampus.run_laps(shape.session_seconds, shape.lfp_rate, rng)
    voltage, phase = hippocampus.lfp(behavior, shape.channels, rng)
    trains = hippocampus.spike_trains(cells, behavior, phase, rng)
    raw = hippocampus.broadband(
        voltage, shape.lfp_rate, cells, trains, rate=shape.rate, duration=shape.duration, rng=rng
    )
    _add_electrodes(nwb, shape)
    _add_acquisition(nwb, raw, shape)
    _add_lfp(nwb, voltage, shape)
    _add_units(nwb, cells, trains, shape)
    _add_position(nwb, behavior, shape, rng)
    return write_nwbfile(nwb, path)


def _add_electrodes(nwb: NWBFile, shape: RecordingShape) -> None:
    device = nwb.create_device(
        name="probe0",
        description=f"{shape.channels}-channel single-shank silicon probe, 20 µm pitch",
    )
    group = nwb.create_electrode_group(
        name="shank0",
        description="The probe's only shank, spanning CA1 stratum oriens to radiatum.",
        location="CA1",
        device=device,
    )
    for channel in range(shape.channels):
        nwb.add_electrode(
            group=group,
            location="CA1",
            x=2.0,  # mm from bregma: AP, ML, DV (the usual stereotaxic axes)
            y=-1.8 - 0.02 * channel,
            z=1.5,
            filtering="none",
        )


def _region(nwb: NWBFile, channels: list[int], description: str) -> Any:
    return nwb.create_electrode_table_region(channels, description)


def _add_acquisition(nwb: NWBFile, data: np.ndarray, shape: RecordingShape) -> None:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.ecephys import ElectricalSeries

    chunk = (min(shape.samples, 8192), shape.channels)
    nwb.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            description=(
                f"Broadband voltage, 0.1 Hz - 7.5 kHz: the first {shape.duration:g} s of the "
                "session (the whole session would be hundreds of MB)."
            ),
            data=H5DataIO(data, compression="gzip", compression_opts=4, chunks=chunk),
            electrodes=_region(nwb, list(range(shape.channels)), "all channels"),
            starting_time=0.0,
            rate=shape.rate,
            conversion=UV_PER_BIT * 1e-6,
        )
    )


def _add_lfp(nwb: NWBFile, voltage: np.ndarray, shape: RecordingShape) -> None:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.ecephys import LFP, ElectricalSeries

    channels = shape.lfp_channels
    data = np.clip(np.round(voltage[:, channels] / UV_PER_BIT), -32768, 32767).astype(np.int16)
    step = shape.lfp_channel_step
    lfp = LFP(name="LFP")
    # In the file before its series: the series' electrodes then share an ancestor with it.
    nwb.create_processing_module("ecephys", "Processed extracellular data.").add(lfp)
    lfp.add_electrical_series(
        ElectricalSeries(
            name="lfp",
            description="Local field potential: theta (7-9 Hz) is strongest while running.",
            data=H5DataIO(
                data,
                compression="gzip",
                shuffle=True,
                chunks=(min(len(data), 10_000), len(channels)),
            ),
            electrodes=_region(
                nwb, channels, "all channels" if step == 1 else f"one channel in {step}"
            ),
            starting_time=0.0,
            rate=shape.lfp_rate,
            conversion=UV_PER_BIT * 1e-6,
            filtering="Low-pass filtered below 300 Hz, then downsampled.",
        )
    )


def _add_units(nwb: NWBFile, cells: Cells, trains: list[np.ndarray], shape: RecordingShape) -> None:
    from pynwb.misc import Units

    nwb.units = Units(
        name="units",
        description="Units sorted from the broadband data.",
        resolution=1.0 / shape.rate,
        electrode_table=nwb.electrodes,
    )
    nwb.add_unit_column(name="quality", description="Curation label.")
    nwb.add_unit_column(name="cell_type", description="pyramidal (place cell) or interneuron.")
    nwb.add_unit_column(
        name="true_field_center",
        description=(
            "Ground truth of the simulation: the centre of the place field along the track "
            "(m from the west end); -1 for interneurons, which have none."
        ),
    )
    for unit, train in enumerate(trains):
        place = bool(cells.is_place_cell[unit])
        nwb.add_unit(
            spike_times=train,
            electrodes=[int(cells.channel[unit])],
            quality="good",
            cell_type="pyramidal" if place else "interneuron",
            true_field_center=float(cells.field_center[unit]) if place else -1.0,
        )


def _add_position(
    nwb: NWBFile, behavior: Behavior, shape: RecordingShape, rng: np.random.Generator
) -> None:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.behavior import Position, SpatialSeries

    n = max(2, round(shape.session_seconds * shape.position_rate))
    at = np.minimum(
        np.round(np.arange(n) / shape.position_rate * behavior.rate).astype(int),
        len(behavior.x) - 1,
    )
    xy = np.column_stack(
        [
            behavior.x[at] + rng.normal(0.0, 0.003, n),  # camera tracking jitter
            TRACK_WIDTH / 2 + rng.normal(0.0, 0.004, n),
        ]
    )
    module = nwb.create_processing_module("behavior", "Tracked head position.")
    module.add(
        Position(
            spatial_series=SpatialSeries(
                name="position",
                description="Head position from an overhead camera.",
                data=H5DataIO(xy, compression="gzip"),
                reference_frame=(
                    "x along the 1 m track from its west end, y across it from its south edge"
                ),
                starting_time=0.0,
                rate=shape.position_rate,
                unit="meters",
            )
        )
    )
