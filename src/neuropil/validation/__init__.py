"""The one validation pipeline, shared by ``neuropil upload`` and ``neuropil validate``.

The official client validates differently in ``dandi validate`` and ``dandi upload`` and shows
only an error count when upload refuses a file (dandi-cli #1185, #780). Here both commands
call :func:`validate_files` (and :func:`validate_zarr_folders` for Zarr folders), and every
:class:`Finding` names the file and says what to fix. See ``docs/design/validation.md``.

Modules: :mod:`.findings` (what is reported), :mod:`.layout` (paths and DANDI's naming
rules), :mod:`.nwb_content` (HDF5, pynwb, nwbinspector), :mod:`.asset_metadata` (NWB metadata
extraction and dandischema checks, the extraction cache upload reuses), :mod:`.dandiset`
(``dandiset.yaml``), :mod:`.pipeline` (per-file checks, in parallel), :mod:`.zarr_folder`
(a Zarr folder, one asset), :mod:`.ngff` (OME-Zarr metadata), :mod:`.paths` (what
``neuropil validate PATHS`` checks).
"""

from neuropil.validation.asset_metadata import ExtractionCache
from neuropil.validation.findings import (
    LEVELS,
    SEVERITIES,
    Finding,
    Severity,
    at_least,
    errors_by_path,
)
from neuropil.validation.layout import (
    BIDS_MARKER,
    LABEL,
    LAYOUT_HINT,
    ORGANIZE_HINT,
    ORGANIZED_FILENAME,
    ORGANIZED_FOLDER,
    check_organized_path,
)
from neuropil.validation.pipeline import validate_files, validate_zarr_folders

__all__ = [
    "BIDS_MARKER",
    "LABEL",
    "LAYOUT_HINT",
    "LEVELS",
    "ORGANIZED_FILENAME",
    "ORGANIZED_FOLDER",
    "ORGANIZE_HINT",
    "SEVERITIES",
    "ExtractionCache",
    "Finding",
    "Severity",
    "at_least",
    "check_organized_path",
    "errors_by_path",
    "validate_files",
    "validate_zarr_folders",
]
