"""Small NWB files (pynwb, a few KB each) built from a :class:`Spec`, for organize and
metadata extraction tests.

Probes with ids and the intracellular sample ids (tissue sample, slice, cell) exist only in
NWB extensions, so :func:`extension` defines a tiny one (``ndx-neuropil-test``): a Device
with a ``probe_id`` (like the Allen Institute's ``EcephysProbe``) and a LabMetaData named
``DandiIcephysMetadata`` (like ndx-dandi-icephys). Its spec is cached in each file, so the
official client reads both without the extension installed.
"""

from __future__ import annotations

import functools
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

NAMESPACE = "ndx-neuropil-test"
START = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    """What one test file holds. ``content`` names the data added, one of ``ecephys``,
    ``behavior``, ``ophys``, ``icephys``, ``ogen``, ``image``."""

    name: str
    subject_id: str | None = "mouse01"
    session_id: str | None = None
    start: datetime = START
    content: tuple[str, ...] = ("ecephys",)
    probe_ids: tuple[int, ...] = ()
    samples: dict[str, str] = field(default_factory=dict)
    species: str | None = "Mus musculus"
    sex: str | None = "M"
    age: str | None = "P90D"
    date_of_birth: datetime | None = None
    genotype: str | None = None
    strain: str | None = "C57BL/6J"
    with_subject: bool = True
    keywords: tuple[str, ...] = ("test",)
    related_publications: tuple[str, ...] = ()


@functools.cache
def extension() -> dict[str, Any]:
    """Define and load ``ndx-neuropil-test``; returns its classes by type name."""
    from pynwb import get_class, load_namespaces
    from pynwb.spec import NWBAttributeSpec, NWBGroupSpec, NWBNamespaceBuilder, export_spec

    builder = NWBNamespaceBuilder(
        doc="neuropil test types",
        name=NAMESPACE,
        version="0.1.0",
        author=["neuropil"],
        contact=["neuropil@example.org"],
    )
    builder.include_type("Device", namespace="core")
    builder.include_type("LabMetaData", namespace="core")
    probe = NWBGroupSpec(
        neurodata_type_def="NeuropilProbe",
        neurodata_type_inc="Device",
        doc="A probe with a numeric id.",
        attributes=[NWBAttributeSpec(name="probe_id", doc="probe id", dtype="int")],
    )
    icephys = NWBGroupSpec(
        neurodata_type_def="NeuropilIcephysMetadata",
        neurodata_type_inc="LabMetaData",
        doc="Sample ids of an intracellular recording.",
        attributes=[
            NWBAttributeSpec(name=n, doc=n, dtype="text", required=False)
            for n in ("tissue_sample_id", "slice_id", "cell_id")
        ],
    )
    directory = Path(tempfile.mkdtemp(prefix="ndx-neuropil-test-"))
    export_spec(builder, [probe, icephys], str(directory))
    load_namespaces(str(directory / f"{NAMESPACE}.namespace.yaml"))
    return {
        "NeuropilProbe": get_class("NeuropilProbe", NAMESPACE),
        "NeuropilIcephysMetadata": get_class("NeuropilIcephysMetadata", NAMESPACE),
    }


def write_nwb(path: Path, spec: Spec) -> Path:
    """Write ``spec`` to ``path`` (parents created)."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    nwb = NWBFile(
        session_description=f"test session {spec.name}",
        identifier=str(uuid.uuid4()),
        session_start_time=spec.start,
        session_id=spec.session_id,
        keywords=list(spec.keywords) or None,
        related_publications=list(spec.related_publications) or None,
        lab="test lab",
        institution="neuropil",
        experimenter=["Doe, Jane"],
    )
    if spec.with_subject:
        nwb.subject = Subject(
            subject_id=spec.subject_id,
            species=spec.species,
            sex=spec.sex,
            age=spec.age,
            date_of_birth=spec.date_of_birth,
            genotype=spec.genotype,
            strain=spec.strain,
        )
    if spec.samples:
        cls = extension()["NeuropilIcephysMetadata"]
        nwb.add_lab_meta_data(cls(name="DandiIcephysMetadata", **spec.samples))
    devices = _devices(nwb, spec)
    for kind in spec.content:
        _CONTENT[kind](nwb, devices)
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def write_set(directory: Path, specs: list[Spec]) -> list[Path]:
    return [write_nwb(directory / s.name, s) for s in specs]


def _devices(nwb: Any, spec: Spec) -> list[Any]:
    if spec.probe_ids:
        cls = extension()["NeuropilProbe"]
        devices = [
            cls(name=f"probe{p}", description="test probe", probe_id=p) for p in spec.probe_ids
        ]
        for device in devices:
            nwb.add_device(device)
        return devices
    return [nwb.create_device(name="rig", description="test rig")]


def _ecephys(nwb: Any, devices: list[Any]) -> None:
    from pynwb.ecephys import ElectricalSeries

    for index, device in enumerate(devices):
        group = nwb.create_electrode_group(
            name=f"shank{index}", description="shank", location="CA1", device=device
        )
        for _ in range(2):
            nwb.add_electrode(group=group, location="CA1")
    region = nwb.create_electrode_table_region(list(range(2 * len(devices))), "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            data=np.zeros((20, 2 * len(devices)), dtype=np.int16),
            electrodes=region,
            rate=1000.0,
        )
    )


def _behavior(nwb: Any, devices: list[Any]) -> None:
    from pynwb.behavior import Position, SpatialSeries

    module = nwb.create_processing_module("behavior", "position")
    module.add(
        Position(
            spatial_series=SpatialSeries(
                name="position",
                data=np.zeros((10, 2)),
                reference_frame="arena corner",
                rate=10.0,
            )
        )
    )


def _ophys(nwb: Any, devices: list[Any]) -> None:
    from pynwb.ophys import OpticalChannel, TwoPhotonSeries

    channel = OpticalChannel(name="green", description="green", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(
        name="plane",
        optical_channel=channel,
        description="plane",
        device=devices[0],
        excitation_lambda=920.0,
        indicator="GCaMP6f",
        location="V1",
        imaging_rate=30.0,
    )
    nwb.add_acquisition(
        TwoPhotonSeries(
            name="TwoPhotonSeries",
            data=np.zeros((3, 4, 4), dtype=np.uint16),
            imaging_plane=plane,
            rate=30.0,
            unit="n.a.",
        )
    )


def _icephys(nwb: Any, devices: list[Any]) -> None:
    from pynwb.icephys import CurrentClampSeries

    electrode = nwb.create_icephys_electrode(
        name="patch", description="patch pipette", device=devices[0]
    )
    nwb.add_acquisition(
        CurrentClampSeries(
            name="CurrentClampSeries",
            data=np.zeros(20),
            electrode=electrode,
            rate=1000.0,
            gain=1.0,
        )
    )


def _ogen(nwb: Any, devices: list[Any]) -> None:
    from pynwb.ogen import OptogeneticSeries, OptogeneticStimulusSite

    site = OptogeneticStimulusSite(
        name="site", device=devices[0], description="fiber", excitation_lambda=470.0, location="M1"
    )
    nwb.add_ogen_site(site)
    nwb.add_acquisition(OptogeneticSeries(name="light", data=np.zeros(10), site=site, rate=10.0))


def _image(nwb: Any, devices: list[Any]) -> None:
    from pynwb.image import ImageSeries

    nwb.add_acquisition(
        ImageSeries(name="camera", data=np.zeros((2, 3, 3), dtype=np.uint8), rate=1.0, unit="n.a.")
    )


_CONTENT = {
    "ecephys": _ecephys,
    "behavior": _behavior,
    "ophys": _ophys,
    "icephys": _icephys,
    "ogen": _ogen,
    "image": _image,
}
