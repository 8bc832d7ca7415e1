"""The asset metadata a file will carry, and the checks of it.

An NWB file's metadata is extracted once per run (:func:`neuropil.nwb.metadata.
extract_asset_metadata`, which also checks the result against dandischema's ``BareAsset``, as
dandi-cli's ``get_validation_errors`` does): validation reports each problem as an ERROR and
leaves the metadata in an :class:`ExtractionCache`, from which the upload takes what it sends
with the blob. So the metadata that was validated is
the metadata that is sent, and no file is parsed twice.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from neuropil.validation.findings import Finding


@dataclass(frozen=True)
class FileKey:
    """One state of a file: its resolved path, size and mtime."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path | str) -> FileKey:
        real = os.path.realpath(path)
        st = os.stat(real)
        return cls(real, st.st_size, st.st_mtime_ns)


class ExtractionCache:
    """Extracted NWB metadata by :class:`FileKey`, for one run (thread-safe).

    A file changed since it was validated has another key, so its stale metadata is never
    used: :meth:`metadata_for` extracts it again.
    """

    def __init__(self) -> None:
        self._entries: dict[FileKey, dict[str, Any]] = {}
        self._lock = threading.Lock()
        #: How often a file had to be extracted by :meth:`metadata_for` (not by validation).
        self.extracted = 0

    def put(self, key: FileKey, metadata: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = metadata

    def get(self, path: Path | str) -> dict[str, Any] | None:
        try:
            key = FileKey.of(path)
        except OSError:
            return None
        with self._lock:
            return self._entries.get(key)

    def metadata_for(self, path: Path, asset_path: str) -> dict[str, Any]:
        """The extracted metadata of an NWB file ({} for other files), extracting it if
        validation did not (``validation="skip"``, or the file changed since)."""
        if not is_nwb(asset_path):
            return {}
        cached = self.get(path)
        if cached is not None:
            return cached
        key = FileKey.of(path)
        metadata, _ = extract(path, asset_path)
        with self._lock:
            self.extracted += 1
            self._entries[key] = metadata
        return metadata


def is_nwb(asset_path: str) -> bool:
    return asset_path.lower().endswith(".nwb")


def extract(path: Path, asset_path: str) -> tuple[dict[str, Any], list[Finding]]:
    """The file's extracted metadata (JSON-ready) and an ERROR per problem: a field that
    could not be extracted (naming the field and the value found), or a part of the result
    dandischema's ``BareAsset`` refuses (dandi-cli's ``dandischema.<type>.<field>`` ids; the
    extractor checks that, with the same placeholder digest dandi-cli uses)."""
    from neuropil.nwb.metadata import extract_asset_metadata

    try:
        extraction = extract_asset_metadata(path, asset_path=asset_path)
    except Exception as exc:  # the extractor's bug or a file it cannot read: not a crash
        return {}, [
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.METADATA_EXTRACTION_FAILED",
                f"the NWB metadata of {path} could not be extracted: {type(exc).__name__}: {exc}",
            )
        ]
    findings: dict[str, Finding] = {}
    for problem in extraction.problems:
        finding = problem_finding(asset_path, problem.field, problem.value, problem.message)
        findings.setdefault(finding.id, finding)  # one per field (pydantic union branches)
    return jsonable(dict(extraction.metadata)), list(findings.values())


def problem_finding(asset_path: str, field: str, value: object, message: str) -> Finding:
    shown = repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."
    found = "" if shown in message else f" (found {shown})"
    if field.startswith("metadata."):
        where = field_path(field.split(".")[1:])
        return Finding(
            asset_path,
            "ERROR",
            f"dandischema.{where}",
            f"{where}: {message}{found}; DANDI's schema refuses this asset metadata, so fix "
            "the value in the NWB file.",
            "dandischema",
        )
    return Finding(asset_path, "ERROR", f"NEUROPIL.METADATA.{field}", f"{field}: {message}{found}.")


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO-8601 text, tuples as lists: what a JSON body can carry."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a field path, ``wasAttributedTo[0].species.identifier``,
    without pydantic's internal steps (``function-wrap[...]``, ``constrained-str``)."""
    out = ""
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}" if out else part
    return out or "metadata"
