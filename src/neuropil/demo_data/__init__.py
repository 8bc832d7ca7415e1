"""Synthetic NWB files shaped like real ones: the content of ``neuropil serve --demo``.

Four sessions of three mice (see :mod:`.sessions`), each one file named as ``dandi organize``
would name it, together ~6 MB and built in a few seconds:

- ``sub-mouse01/…_ses-20240501_behavior+ecephys.nwb`` and ``…_ses-20240502_…``: CA1 place
  cells on a linear track, an LFP with a theta rhythm, a broadband excerpt and the position
  (:mod:`.ecephys`, simulated by :mod:`.hippocampus`);
- ``sub-mouse02/…_ophys.nwb``: a two-photon movie, ROI masks, fluorescence, ΔF/F and
  summary images (:mod:`.ophys`, simulated by :mod:`.calcium`);
- ``sub-mouse03/…_icephys.nwb``: a current-clamp step protocol (:mod:`.icephys`).

Everything depends only on the ``seed``. :func:`make_nwb_files` writes just the two track
sessions, by default at the small size the tests use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuropil.demo_data.calcium import ImagingShape
from neuropil.demo_data.ecephys import DEMO_SHAPE, RecordingShape, write_ecephys_session
from neuropil.demo_data.icephys import write_icephys_session
from neuropil.demo_data.ophys import write_ophys_session
from neuropil.demo_data.sessions import (
    DEMO_SESSIONS,
    SESSIONS,
    SPECIES,
    TRACK_MOUSE,
    DemoSession,
    DemoSubject,
    demo_session,
)

__all__ = [
    "AGE",
    "DEMO_SESSIONS",
    "DEMO_SHAPE",
    "SESSIONS",
    "SEX",
    "SPECIES",
    "SUBJECT_ID",
    "DemoSession",
    "DemoSubject",
    "ImagingShape",
    "RecordingShape",
    "make_demo_files",
    "make_nwb_files",
    "session_filename",
]

#: The mouse of the track sessions (the first files of the demo).
SUBJECT_ID = TRACK_MOUSE.subject_id
SEX = TRACK_MOUSE.sex
AGE = TRACK_MOUSE.age


def session_filename(session_id: str, *, organized: bool) -> str:
    """Where a demo session's file goes below the output directory (``/``-separated)."""
    return demo_session(session_id).filename(organized=organized)


def make_demo_files(
    directory: Path,
    *,
    organized: bool = True,
    shape: RecordingShape = DEMO_SHAPE,
    seed: int = 0,
) -> list[Path]:
    """Write every demo session under ``directory``, in :data:`SESSIONS` order."""
    return [
        _write(session, directory, organized=organized, shape=shape, seed=seed)
        for session in DEMO_SESSIONS
    ]


def make_nwb_files(
    directory: Path,
    *,
    organized: bool = False,
    shape: RecordingShape | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write the two extracellular sessions under ``directory`` and return their paths.

    ``shape`` defaults to ``RecordingShape()``: 2 s of broadband, LFP, spikes of 8 units and
    position, small enough for tests. With ``organized`` the files use DANDI's layout
    ``sub-<id>/sub-<id>_ses-<sid>_behavior+ecephys.nwb``.
    """
    return [
        _write(session, directory, organized=organized, shape=shape or RecordingShape(), seed=seed)
        for session in DEMO_SESSIONS
        if session.kind == "ecephys"
    ]


def _write(
    session: DemoSession, directory: Path, *, organized: bool, shape: RecordingShape, seed: int
) -> Path:
    path = directory / session.filename(organized=organized)
    rng = np.random.default_rng([seed, DEMO_SESSIONS.index(session)])
    if session.kind == "ecephys":
        return write_ecephys_session(path, session, shape=shape, seed=seed, rng=rng)
    if session.kind == "ophys":
        return write_ophys_session(path, session, rng=rng)
    return write_icephys_session(path, session, rng=rng)
