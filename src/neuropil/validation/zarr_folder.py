"""Checks of a Zarr folder, one asset (``data.zarr``, ``sample.ome.zarr``).

What ``dandi validate`` checks of a Zarr, with its ids: zarr-python opens it
(``zarr.cannot_open``), a group holds something (``dandi_zarr.empty_group``), the folder tree
is at most :data:`MAX_DEPTH` folders deep (``dandi_zarr.tree_depth_exceeded``). And what the
archive would refuse on upload: the asset path, and each key
(:func:`neuropil.core.zarr_paths.validate_zarr_key`); a folder with no keys at all. The keys
are the ones an upload sends (:func:`neuropil.localfiles.zarr_files`).
"""

from __future__ import annotations

from pathlib import Path

from neuropil.core.zarr_paths import validate_zarr_key
from neuropil.errors import InvalidPath
from neuropil.localfiles import zarr_files
from neuropil.validation.findings import Finding
from neuropil.validation.layout import check_asset_path

#: dandi-cli's ``MAX_ZARR_DEPTH``: folders below the Zarr's root.
MAX_DEPTH = 7
#: Bad keys named one by one; the rest are counted.
NAMED_KEYS = 5


def check_zarr_folder(path: Path, asset_path: str) -> list[Finding]:
    """Every problem of the Zarr folder at ``path`` (asset path ``asset_path``)."""
    findings = check_asset_path(asset_path)
    keys = [key for key, _ in zarr_files(path)]
    if not keys:
        return [
            *findings,
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.ZARR_EMPTY",
                f"{path} holds no files: an empty Zarr cannot be uploaded.",
            ),
        ]
    findings.extend(_bad_keys(asset_path, keys))
    depth = max(key.count("/") for key in keys)
    if depth > MAX_DEPTH:
        findings.append(
            Finding(
                asset_path,
                "ERROR",
                "dandi_zarr.tree_depth_exceeded",
                f"Zarr directory tree more than {MAX_DEPTH} directories deep ({depth}).",
            )
        )
    findings.extend(_open(path, asset_path))
    return findings


def _bad_keys(asset_path: str, keys: list[str]) -> list[Finding]:
    problems = []
    for key in keys:
        try:
            validate_zarr_key(key)
        except InvalidPath as exc:
            problems.append(str(exc))
    if not problems:
        return []
    more = len(problems) - NAMED_KEYS
    text = " ".join(problems[:NAMED_KEYS]) + (f" (and {more} more)" if more > 0 else "")
    return [
        Finding(
            asset_path,
            "ERROR",
            "NEUROPIL.ZARR_KEY_INVALID",
            f"the archive would refuse {len(problems)} of its files: {text} Rename them.",
        )
    ]


def _open(path: Path, asset_path: str) -> list[Finding]:
    """zarr-python opens the Zarr; a group must hold arrays or groups."""
    try:
        import zarr
    except ImportError:
        return [_not_opened(asset_path, "zarr-python is not installed (pip install 'zarr<3')")]
    if (path / "zarr.json").is_file() and zarr.__version__.startswith("2."):
        return [_not_opened(asset_path, f"zarr-python {zarr.__version__} cannot read Zarr v3")]
    try:
        data = zarr.open(str(path), mode="r")
    except Exception as exc:  # whatever zarr-python raises for a folder it cannot read
        return [
            Finding(
                asset_path,
                "ERROR",
                "zarr.cannot_open",
                f"zarr-python cannot open {path}: {type(exc).__name__}: {exc}",
            )
        ]
    if isinstance(data, zarr.Group) and len(data) == 0:
        return [Finding(asset_path, "ERROR", "dandi_zarr.empty_group", "Zarr group is empty.")]
    return []


def _not_opened(asset_path: str, why: str) -> Finding:
    return Finding(
        asset_path, "WARNING", "NEUROPIL.ZARR_NOT_OPENED", f"not opened to check it: {why}."
    )
