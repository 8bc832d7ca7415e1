"""The columns of the two tables of a version: one declaration that the server, the client's
fallback and the encoders all read, so every format and every path yields the same frame.

Cells are scalars on purpose: a multi-valued field (two techniques, three devices) is one
string joined with :data:`SEP`, so a table round-trips unchanged through CSV, JSON and
Parquet, and ``df.technique.str.contains(...)`` works the same whichever way it was fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Joins the values of a multi-valued field in one cell.
SEP = " | "

Kind = Literal["string", "int"]


@dataclass(frozen=True)
class Column:
    """A column: its name, its kind (``string`` or ``int``; any cell may be null) and what it
    holds."""

    name: str
    kind: Kind
    doc: str


def _s(name: str, doc: str) -> Column:
    return Column(name, "string", doc)


def _i(name: str, doc: str) -> Column:
    return Column(name, "int", doc)


FILES: tuple[Column, ...] = (
    _s("path", "the asset's path in the version"),
    _s("asset_id", "the asset's id"),
    _s("download_url", "the asset's download URL (redirects to the bytes)"),
    _i("size", "bytes"),
    _s("dandi_etag", "the dandi-etag digest"),
    _s("sha256", "the sha256 digest (null until the server has computed it)"),
    _s("encoding_format", "the media type (application/x-nwb, ...)"),
    _s("subject", "participant identifiers"),
    _s("session", "session identifiers"),
    _s("technique", "measurement technique names"),
    _s("approach", "approach names"),
    _s("species", "species names"),
    _s("sex", "sex names"),
    _s("age", "ages as ISO-8601 durations"),
)

SESSIONS: tuple[Column, ...] = (
    _s("subject", "participant identifier"),
    _s("session", "session identifier (empty: a file without one, one row per file)"),
    _s("session_start", "session start time, ISO-8601"),
    _s("session_description", "the session's description"),
    _s("species", "species name"),
    _s("sex", "sex name"),
    _s("age", "age as an ISO-8601 duration"),
    _s("strain", "strain name"),
    _s("technique", "measurement technique names"),
    _s("approach", "approach names"),
    _s("variable_measured", "neurodata types measured"),
    _s("devices", "device names (index)"),
    _i("electrode_count", "extracellular electrode rows plus intracellular electrodes (index)"),
    _i("units_count", "rows of the units table (index)"),
    _s("imaging_planes", "imaging plane names (index)"),
    _s("acquisition", "names of the acquisition series (index)"),
    _i("files", "NWB files of the session"),
    _s("paths", "their asset paths"),
    _s(
        "index_status",
        "built, pending, not-hdf5, failed or unavailable: whether the (index) columns are known",
    ),
)

#: The tables a version has, by name (the ``{name}`` of ``.../tables/{name}/``).
TABLES: dict[str, tuple[Column, ...]] = {"files": FILES, "sessions": SESSIONS}


def names(columns: tuple[Column, ...]) -> list[str]:
    """The column names, in order."""
    return [c.name for c in columns]
