"""What validation reports: :class:`Finding`, severities, and the official client's JSON shape.

Severities are dandi-cli's (``dandi/validate/_types.py``): INFO < HINT < WARNING < ERROR <
CRITICAL, and a file with any ERROR is refused by ``upload --validation require``. neuropil
reports HINT, WARNING and ERROR (dandi-cli's CRITICAL is never emitted for files either).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Severity = Literal["ERROR", "WARNING", "HINT"]
SEVERITIES: tuple[Severity, ...] = ("HINT", "WARNING", "ERROR")
#: dandi-cli's numeric levels, so ``--min-severity`` compares as it does there.
LEVELS: dict[str, int] = {"INFO": 10, "HINT": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

#: Who produced a finding (dandi-cli's ``Validator`` values, plus neuropil's own checks).
Validator = Literal["neuropil", "pynwb", "nwbinspector", "dandischema"]


@dataclass(frozen=True)
class Finding:
    """One problem with one file.

    ``path`` is the asset path (relative to the dandiset) when the file is inside the
    dandiset, else the path as given. ``location`` is the object inside the file the
    problem is about (an HDF5 path), when the validator says.
    """

    path: str
    severity: Severity
    id: str
    message: str
    validator: Validator = "neuropil"
    location: str | None = None

    def __str__(self) -> str:
        return f"[{self.id}] {self.path} — {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "ERROR"

    @property
    def level(self) -> int:
        return LEVELS[self.severity]

    def record(
        self, directory: Path, *, in_dandiset: bool, versions: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """This finding as dandi-cli's ``ValidationResult.model_dump(mode="json")`` shapes it.

        ``directory`` is the dandiset's (or, for files in no dandiset, the folder the paths
        are relative to); ``path`` is the file's absolute path, as in the official client.
        """
        absolute = directory / self.path  # an absolute self.path stays as it is
        return {
            "record_version": "1",
            "id": self.id,
            "origin": {
                "type": "validation",
                "validator": self.validator,
                "validator_version": (versions or {}).get(self.validator, ""),
                "standard": _STANDARDS.get(self.validator),
                "standard_version": None,
                "standard_schema_version": None,
            },
            "scope": "dandiset" if self.id == "DANDI.NO_DANDISET_FOUND" else "file",
            "severity": self.severity,
            "asset_paths": [self.path] if in_dandiset else None,
            "within_asset_paths": {str(absolute): self.location} if self.location else None,
            "dandiset_path": str(directory) if in_dandiset else None,
            "dataset_path": None,
            "message": self.message,
            "metadata": None,
            "path": str(absolute),
            "path_regex": None,
        }


_STANDARDS = {"pynwb": "NWB", "nwbinspector": "NWB", "dandischema": "DANDI-SCHEMA"}


def errors_by_path(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """The ERROR findings grouped by path (files that ``validation="require"`` refuses)."""
    out: dict[str, list[Finding]] = {}
    for f in findings:
        if f.is_error:
            out.setdefault(f.path, []).append(f)
    return out


def at_least(findings: Iterable[Finding], severity: str) -> list[Finding]:
    """The findings of ``severity`` or worse (``--min-severity``)."""
    floor = LEVELS[severity.upper()]
    return [f for f in findings if f.level >= floor]


def validator_versions() -> dict[str, str]:
    """Versions of the validators, for the JSON records (read from package metadata, which
    is fast: nothing heavy is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    from neuropil._version import __version__

    out = {"neuropil": __version__}
    for validator, package in (
        ("pynwb", "pynwb"),
        ("nwbinspector", "nwbinspector"),
        ("dandischema", "dandischema"),
    ):
        try:
            out[validator] = version(package)
        except PackageNotFoundError:
            out[validator] = ""
    return out
