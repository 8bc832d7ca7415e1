"""Content checks of one ``.nwb`` file: HDF5 and ``nwb_version``, pynwb, nwbinspector.

What runs and how results become findings follows ``dandi validate`` (dandi-cli's
``pynwb_utils.validate`` and ``NWBAsset.get_validation_errors``):

* the root ``nwb_version`` must be a semantic version (dandi-cli's ``pynwb.GENERIC`` errors);
* ``pynwb.validate`` against the namespaces cached in the file: every error is an ERROR;
* nwbinspector with its ``dandi`` configuration at ``BEST_PRACTICE_VIOLATION`` and above,
  importance mapped as dandi-cli maps it (:data:`IMPORTANCE_TO_SEVERITY`).

The file is opened once: pynwb's validator reads the HDF5 builders through the same
``NWBHDF5IO`` that then constructs the ``NWBFile`` nwbinspector inspects (``io.read()``
reuses the builders), where dandi-cli opens the file three times; and the cached schema is
parsed once per process, not once per file (:mod:`.nwb_schema`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from neuropil.validation.findings import Finding, Severity

#: dandi-cli's ``NWBI_IMPORTANCE_TO_DANDI_SEVERITY`` (files/bases.py).
IMPORTANCE_TO_SEVERITY: dict[str, Severity] = {
    "ERROR": "ERROR",
    "PYNWB_VALIDATION": "ERROR",
    "CRITICAL": "ERROR",  # the dandi configuration raises DANDI's requirements to CRITICAL
    "BEST_PRACTICE_VIOLATION": "WARNING",
    "BEST_PRACTICE_SUGGESTION": "HINT",
}
_SEMVER = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
_INSPECTOR_CONFIG: dict[str, Any] | None = None


def check_nwb(path: Path, asset_path: str) -> tuple[list[Finding], bool]:
    """Every content finding for one NWB file, and whether pynwb could read it (only then
    is metadata worth extracting)."""
    findings = check_hdf5(path, asset_path)
    if findings and findings[0].id in ("NWB.CANNOT_OPEN", "NWB.MISSING_NWB_VERSION"):
        return findings, False  # pynwb and nwbinspector would only repeat this, less clearly
    import pynwb

    from neuropil.validation.nwb_schema import schema_errors

    try:
        with pynwb.NWBHDF5IO(str(path), "r") as io:
            findings.extend(_pynwb_errors(schema_errors(io), asset_path))
            try:
                nwbfile = io.read()
            except Exception as exc:  # hdmf raises anything from ConstructError to KeyError
                findings.append(_unreadable(path, asset_path, exc))
                return findings, False
            findings.extend(inspect(nwbfile, asset_path))
    except Exception as exc:  # opening or validating failed: the file is not NWB as pynwb knows
        findings.append(_unreadable(path, asset_path, exc))
        return findings, False
    return findings, True


def check_hdf5(path: Path, asset_path: str) -> list[Finding]:
    """Open the file with h5py and check the ``nwb_version`` an NWB file must carry."""
    import h5py  # imported here: it is slow to import and only NWB files need it

    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("nwb_version")
            if version is None and "nwb_version" in f:  # NWB 1.x kept it in a dataset
                version = f["nwb_version"][()]
    except Exception as exc:  # h5py raises OSError, but corrupt files raise others too
        return [
            Finding(
                asset_path,
                "ERROR",
                "NWB.CANNOT_OPEN",
                f"{path} cannot be opened as an HDF5 file ({exc}); an .nwb file must be "
                "HDF5 written by pynwb or MatNWB. Is it truncated or in another format?",
            )
        ]
    if isinstance(version, bytes):
        version = version.decode(errors="replace")
    if version is None or not str(version).strip():
        return [
            Finding(
                asset_path,
                "ERROR",
                "NWB.MISSING_NWB_VERSION",
                f"{path} is HDF5 but has no 'nwb_version' attribute at its root, so it is not "
                "an NWB file; write it with pynwb or MatNWB.",
            )
        ]
    problem = version_problem(version)
    if problem:
        return [Finding(asset_path, "ERROR", "pynwb.GENERIC", problem, "pynwb")]
    return []


def version_problem(version: object) -> str | None:
    """What is wrong with an ``nwb_version`` value, as dandi-cli's ``_sanitize_nwb_version``
    judges it (each of its complaints is an ERROR there)."""
    if not isinstance(version, str):
        return (
            f"nwb_version {version!r} is not text; it must be a semantic version such as "
            "'2.7.0' (see https://semver.org). Rewrite the file with pynwb or MatNWB."
        )
    text = version
    if version.startswith("NWB-"):
        text = version[4:]
        if not text.startswith(("1.", "2.0")):
            return (
                f"nwb_version {version!r} starts with 'NWB-', which is not part of the "
                f"specification since NWB 2.1.0; it should read {text!r}."
            )
    if not _SEMVER.fullmatch(text):
        return f"nwb_version {version!r} is not a semantic version such as '2.7.0'."
    return None


def _pynwb_errors(errors: list[Any], asset_path: str) -> list[Finding]:
    out = []
    for error in errors:
        location = getattr(error, "location", None)
        where = f" (at {location})" if location else ""
        out.append(
            Finding(
                asset_path,
                "ERROR",
                f"pynwb.{type(error).__name__}",
                f"the file does not follow the NWB schema: {error.name}: {error.reason}{where}.",
                "pynwb",
                location,
            )
        )
    return out


def _unreadable(path: Path, asset_path: str, exc: BaseException) -> Finding:
    reason = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else str(exc)
    builder = getattr(exc.args[0], "path", None) if exc.args else None
    where = f" at {builder}" if isinstance(builder, str) else ""
    return Finding(
        asset_path,
        "ERROR",
        "NWB.CANNOT_READ",
        f"pynwb cannot read {path}{where}: {type(exc).__name__}: {reason[:500]}. "
        "Fix the object it names (the schema errors above say how), or rewrite the file "
        "with a current pynwb.",
        "pynwb",
        builder if isinstance(builder, str) else None,
    )


def inspector_config() -> dict[str, Any]:
    """nwbinspector's ``dandi`` configuration (read once per process)."""
    from nwbinspector import load_config

    global _INSPECTOR_CONFIG
    if _INSPECTOR_CONFIG is None:
        _INSPECTOR_CONFIG = load_config(filepath_or_keyword="dandi")
    return _INSPECTOR_CONFIG


def inspect(nwbfile: Any, asset_path: str) -> list[Finding]:
    """nwbinspector's ``dandi`` checks of an open ``NWBFile``."""
    from nwbinspector import Importance, inspect_nwbfile_object

    try:
        messages = list(
            inspect_nwbfile_object(
                nwbfile,
                config=inspector_config(),
                importance_threshold=Importance.BEST_PRACTICE_VIOLATION,
            )
        )
    except Exception as exc:  # nwbinspector failed as a whole (its checks' own errors are
        # messages): an error, as dandi-cli makes of it, but not a claim that pynwb failed
        return [
            Finding(
                asset_path,
                "ERROR",
                "NWBI.INSPECTION_FAILED",
                f"nwbinspector could not inspect the file: {type(exc).__name__}: {exc}",
                "nwbinspector",
            )
        ]
    out = []
    for message in messages:
        if message is None:
            continue
        severity = IMPORTANCE_TO_SEVERITY[message.importance.name]
        location = message.location or None
        what = f"{message.object_type} {message.object_name!r}" if message.object_name else ""
        where = f" ({what} at {location})" if what and location and location != "/" else ""
        out.append(
            Finding(
                asset_path,
                severity,
                f"NWBI.{message.check_function_name}",
                f"{message.message}{where}",
                "nwbinspector",
                location,
            )
        )
    return out
