"""Who and when: the demo's subjects, its sessions, and the ``NWBFile`` every session starts from.

Three mice, four sessions, as a small lab's dandiset would hold them: two days of one mouse
running on a linear track with a silicon probe in CA1, a two-photon imaging session of a
second mouse, and whole-cell recordings in an acute slice of a third. The file names are the
ones ``dandi organize`` gives these files (``tests/test_demo.py`` checks that).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from pynwb import NWBFile

SPECIES = "Mus musculus"
EXPERIMENTER = "Neuropil, Demo"
LAB = "Neuropil demo lab"
INSTITUTION = "Neuropil"

Kind = Literal["ecephys", "ophys", "icephys"]


@dataclass(frozen=True)
class DemoSubject:
    """One mouse (``age`` is an ISO-8601 duration since birth, as NWB and DANDI want)."""

    subject_id: str
    sex: str
    age: str
    description: str
    genotype: str = "wild type"
    strain: str = "C57BL/6J"


@dataclass(frozen=True)
class DemoSession:
    """One session, written to one NWB file."""

    session_id: str
    kind: Kind
    subject: DemoSubject
    #: the modalities part of the DANDI file name (``behavior+ecephys``)
    modalities: str
    start: datetime
    description: str
    keywords: tuple[str, ...]
    #: NWBFile fields describing the preparation (``surgery``, ``virus``, ``slices``...)
    notes: tuple[tuple[str, str], ...] = ()

    def filename(self, *, organized: bool) -> str:
        """Where the session's file goes below an output directory (``/``-separated)."""
        subject_id = self.subject.subject_id
        if not organized:
            return f"{subject_id}_{self.session_id}.nwb"
        sub = f"sub-{subject_id}"
        return f"{sub}/{sub}_ses-{self.session_id}_{self.modalities}.nwb"


TRACK_MOUSE = DemoSubject(
    "mouse01", "M", "P90D", "Adult male mouse implanted with a silicon probe in dorsal CA1."
)
IMAGING_MOUSE = DemoSubject(
    "mouse02",
    "F",
    "P112D",
    "Adult female mouse expressing GCaMP6f in CA1, imaged through a cranial window.",
)
SLICE_MOUSE = DemoSubject(
    "mouse03", "M", "P28D", "Juvenile male mouse; acute hippocampal slices were prepared."
)

_SURGERY = (
    "surgery",
    "Under isoflurane anaesthesia a 16-channel silicon probe was lowered into dorsal CA1 "
    "(AP -1.8 mm, ML 1.5 mm) and fixed to a head cap, 14 days before the recordings.",
)
_TRACK_NOTES = (
    _SURGERY,
    ("stimulus_notes", "Water drops at both ends of a 1 m linear track."),
    ("data_collection", "Head position from an overhead camera at 50 Hz."),
)

DEMO_SESSIONS: tuple[DemoSession, ...] = (
    DemoSession(
        "20240501",
        "ecephys",
        TRACK_MOUSE,
        "behavior+ecephys",
        datetime(2024, 5, 1, 10, 30, tzinfo=UTC),
        "Linear track, day 1: CA1 place cells, theta LFP and position.",
        ("hippocampus", "CA1", "place cells", "theta rhythm", "linear track", "synthetic"),
        _TRACK_NOTES,
    ),
    DemoSession(
        "20240502",
        "ecephys",
        TRACK_MOUSE,
        "behavior+ecephys",
        datetime(2024, 5, 2, 10, 30, tzinfo=UTC),
        "Linear track, day 2: the same place cells, the same track.",
        ("hippocampus", "CA1", "place cells", "theta rhythm", "linear track", "synthetic"),
        _TRACK_NOTES,
    ),
    DemoSession(
        "20240612",
        "ophys",
        IMAGING_MOUSE,
        "ophys",
        datetime(2024, 6, 12, 14, 0, tzinfo=UTC),
        "Two-photon imaging of CA1 pyramidal cells (GCaMP6f) in a head-fixed mouse.",
        ("hippocampus", "CA1", "two-photon imaging", "calcium imaging", "GCaMP6f", "synthetic"),
        (
            ("virus", "AAV1-Syn-GCaMP6f-WPRE-SV40, 300 nl in dorsal CA1 (Addgene 100837)."),
            (
                "surgery",
                "Virus injection, then a 3 mm cranial window over dorsal CA1 after cortex "
                "aspiration, 21 days before imaging.",
            ),
        ),
    ),
    DemoSession(
        "20240703",
        "icephys",
        SLICE_MOUSE,
        "icephys",
        datetime(2024, 7, 3, 16, 0, tzinfo=UTC),
        "Whole-cell current clamp of a CA1 pyramidal neuron: a step protocol.",
        ("hippocampus", "CA1", "patch clamp", "current clamp", "pyramidal neuron", "synthetic"),
        (
            ("slices", "300 µm transverse hippocampal slices in ACSF at 32 °C."),
            ("pharmacology", "None: recordings in standard ACSF."),
        ),
    ),
)
SESSIONS: tuple[str, ...] = tuple(s.session_id for s in DEMO_SESSIONS)


def demo_session(session_id: str) -> DemoSession:
    """The demo session called ``session_id``; ``KeyError`` if there is none."""
    for session in DEMO_SESSIONS:
        if session.session_id == session_id:
            return session
    raise KeyError(f"no demo session {session_id!r}; the sessions are {', '.join(SESSIONS)}")


def new_nwbfile(session: DemoSession, rng: np.random.Generator) -> NWBFile:
    """An empty ``NWBFile`` with the session's subject, ids, keywords and notes."""
    from pynwb import NWBFile
    from pynwb.file import Subject

    subject = session.subject
    nwb = NWBFile(
        session_description=session.description,
        identifier=str(uuid.UUID(bytes=rng.bytes(16), version=4)),
        session_start_time=session.start,
        session_id=session.session_id,
        experimenter=[EXPERIMENTER],
        lab=LAB,
        institution=INSTITUTION,
        experiment_description=(
            "Synthetic data generated by neuropil to show the shape of real recordings: "
            "every value comes from a small simulation with a fixed seed."
        ),
        keywords=list(session.keywords),
        **dict(session.notes),
    )
    nwb.subject = Subject(
        subject_id=subject.subject_id,
        species=SPECIES,
        sex=subject.sex,
        age=subject.age,
        strain=subject.strain,
        genotype=subject.genotype,
        description=subject.description,
    )
    return nwb


def write_nwbfile(nwb: NWBFile, path: Path) -> Path:
    """Write ``nwb`` to ``path`` (creating its directory) and return the path."""
    from pynwb import NWBHDF5IO

    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path
