"""The experiment-metadata table: one row per session, from the NWB files of a version.

A session is a (subject, session identifier) pair from the asset metadata; an NWB file
without a session identifier is a session of its own. Subject and session fields come from
the metadata (:mod:`.facts`), what the file holds from its index (:mod:`.contents`). When a
session spans several files (one per probe, or ecephys and ophys apart), names are united
and counts are the largest of any one file: a file that repeats the electrodes table of
another must not count its electrodes twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from neuropil.tables.columns import SEP
from neuropil.tables.contents import NwbContents
from neuropil.tables.facts import AssetFacts, join

BUILT = "built"
PENDING = "pending"
NOT_HDF5 = "not-hdf5"
FAILED = "failed"
#: The server has no indexes (the public DANDI API): the index columns stay null.
UNAVAILABLE = "unavailable"
#: A session's status is that of its least settled file, in this order.
_STATUS_RANK = (PENDING, FAILED, NOT_HDF5, UNAVAILABLE, BUILT)


@dataclass(frozen=True)
class SessionFile:
    """One NWB file of a version: its path, metadata facts and, when indexed, contents."""

    path: str
    facts: AssetFacts
    contents: NwbContents | None
    index_status: str


def _key(f: SessionFile) -> tuple[str, str]:
    if f.facts.session:
        return (f.facts.subject or "", f.facts.session)
    return (f.facts.subject or "", "\0" + f.path)  # no session id: a session of its own


def _first(files: list[SessionFile], field: str) -> str | None:
    return next((v for f in files if (v := getattr(f.facts, field))), None)


def _united(files: list[SessionFile], field: str) -> str | None:
    values: list[str] = []
    for f in files:
        raw = getattr(f.facts, field)
        values.extend(raw.split(SEP) if raw else ())
    return join(values)


def _names(known: list[NwbContents], field: str) -> str | None:
    if not known:
        return None
    return join(sorted({name for c in known for name in getattr(c, field)})) or ""


def _count(known: list[NwbContents], field: str) -> int | None:
    return max((int(getattr(c, field)) for c in known), default=None)


def session_row(files: list[SessionFile]) -> dict[str, Any]:
    """The row of one session (keys in :data:`~neuropil.tables.columns.SESSIONS` order) from
    its files in path order."""
    known = [f.contents for f in files if f.contents is not None]
    status = min((f.index_status for f in files), key=_status_rank)
    return {
        "subject": _first(files, "subject"),
        "session": _first(files, "session"),
        "session_start": _first(files, "session_start"),
        "session_description": _first(files, "session_description"),
        "species": _first(files, "species"),
        "sex": _first(files, "sex"),
        "age": _first(files, "age"),
        "strain": _first(files, "strain"),
        "technique": _united(files, "technique"),
        "approach": _united(files, "approach"),
        "variable_measured": _united(files, "variable_measured"),
        "devices": _names(known, "devices"),
        "electrode_count": _count(known, "electrode_count"),
        "units_count": _count(known, "units_count"),
        "imaging_planes": _names(known, "imaging_planes"),
        "acquisition": _names(known, "acquisition"),
        "files": len(files),
        "paths": join(f.path for f in files),
        "index_status": status,
    }


def _status_rank(status: str) -> int:
    return _STATUS_RANK.index(status) if status in _STATUS_RANK else 0


def sessions_of(files: Iterable[SessionFile]) -> list[list[SessionFile]]:
    """The files of each session, sessions sorted by subject, session and path, files by path."""
    groups: dict[tuple[str, str], list[SessionFile]] = {}
    for f in sorted(files, key=lambda f: f.path):
        groups.setdefault(_key(f), []).append(f)
    return [groups[k] for k in sorted(groups)]


def session_rows(files: Iterable[SessionFile]) -> list[dict[str, Any]]:
    """The sessions table (keys in :data:`~neuropil.tables.columns.SESSIONS` order), sorted
    by subject, session and path."""
    return [session_row(group) for group in sessions_of(files)]
