"""Checks of a Zarr folder, one asset (``data.zarr``, ``sample.ome.zarr``, ``img.ngff``).

What ``dandi validate`` checks of a Zarr, with its ids: zarr-python opens it
(``zarr.cannot_open``), a group holds something (``dandi_zarr.empty_group``), no file lies
:data:`MAX_DEPTH` or more folders below the root (``dandi_zarr.tree_depth_exceeded``). What
the archive would refuse on upload: the asset path, each key
(:func:`neuropil.core.zarr_paths.validate_zarr_key`), a file over
:data:`~neuropil.core.zarr_paths.MAX_FILE_BYTES`, a folder with no files at all. And, beyond
``dandi validate``: every array and group of the hierarchy opens with its attributes (not
only the root), consolidated metadata (``.zmetadata``) reads, and a folder named as an
OME-Zarr has OME-NGFF metadata (:mod:`.ngff`). The keys are the ones an upload sends
(:func:`neuropil.localfiles.zarr_files`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuropil.core.zarr_paths import MAX_FILE_BYTES, validate_zarr_key
from neuropil.errors import InvalidPath
from neuropil.localfiles import zarr_files
from neuropil.validation.findings import Finding
from neuropil.validation.layout import check_asset_path
from neuropil.validation.ngff import check_ngff, is_ngff

#: dandi-cli's ``MAX_ZARR_DEPTH`` (``dandi/consts.py``). Its ``ZarrAsset._is_too_deep``
#: (``dandi/files/zarr.py``) refuses a file whose key has ``MAX_DEPTH + 1`` parts or more,
#: that is a file ``MAX_DEPTH`` folders below the root ("more than 7 directories deep"
#: counts the Zarr's own folder); checked against ``dandi validate`` 0.81.
MAX_DEPTH = 7
#: Bad keys (or files) named one by one; the rest are counted.
NAMED_KEYS = 5
#: Files at a Zarr's root that say it is one: Zarr v2 (group, array) and Zarr v3.
V2_METADATA = (".zgroup", ".zarray")
V3_METADATA = "zarr.json"


def check_zarr_folder(path: Path, asset_path: str) -> list[Finding]:
    """Every problem of the Zarr folder at ``path`` (asset path ``asset_path``)."""
    findings = check_asset_path(asset_path)
    files = list(zarr_files(path))
    if not files:
        return [
            *findings,
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.ZARR_EMPTY",
                f"{path} holds no files: an empty Zarr cannot be uploaded.",
            ),
        ]
    keys = [key for key, _ in files]
    findings.extend(_bad_keys(asset_path, keys))
    findings.extend(_bad_files(asset_path, files))
    findings.extend(_too_deep(asset_path, keys))
    findings.extend(_open(path, asset_path))
    return findings


def _listed(problems: list[str]) -> str:
    more = len(problems) - NAMED_KEYS
    return ", ".join(problems[:NAMED_KEYS]) + (f" (and {more} more)" if more > 0 else "")


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


def _bad_files(asset_path: str, files: list[tuple[str, Path]]) -> list[Finding]:
    """Files an upload could not read, or the archive would refuse for their size."""
    unreadable, too_large = [], []
    for key, file in files:
        try:
            size = file.stat().st_size
        except OSError as exc:
            missing = file.is_symlink() and not file.exists()
            why = "a symlink to a missing file" if missing else exc.strerror or str(exc)
            unreadable.append(f"{key!r} ({why})")
            continue
        if size > MAX_FILE_BYTES:
            too_large.append(f"{key!r} ({size} bytes)")
    findings = []
    if unreadable:
        findings.append(
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.ZARR_FILE_UNREADABLE",
                f"{len(unreadable)} of its files cannot be read: {_listed(unreadable)}. "
                "A git-annex file whose content was not fetched? Run `git annex get`.",
            )
        )
    if too_large:
        findings.append(
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.ZARR_FILE_TOO_LARGE",
                f"the archive takes Zarr files of at most {MAX_FILE_BYTES} bytes (5 GiB); "
                f"{len(too_large)} are larger: {_listed(too_large)}. Use smaller chunks.",
            )
        )
    return findings


def _too_deep(asset_path: str, keys: list[str]) -> list[Finding]:
    deepest = max(keys, key=lambda k: k.count("/"))
    folders = deepest.count("/")
    if folders < MAX_DEPTH:
        return []
    return [
        Finding(
            asset_path,
            "ERROR",
            "dandi_zarr.tree_depth_exceeded",
            f"Zarr directory tree more than {MAX_DEPTH} directories deep: {deepest!r} lies "
            f"{folders} folders below the Zarr's root, and DANDI takes at most {MAX_DEPTH - 1}.",
        )
    ]


def _open(path: Path, asset_path: str) -> list[Finding]:
    """zarr-python opens the Zarr and each node in it; then :func:`_check_opened`."""
    try:
        import zarr  # optional (the ``zarr`` extra): without it the folder is not opened
    except ImportError:
        return [_not_opened(asset_path, "zarr-python is not installed (pip install 'zarr<3')")]
    v3 = (path / V3_METADATA).is_file()
    if not v3 and not any((path / name).is_file() for name in V2_METADATA):
        return [
            _cannot_open(
                asset_path,
                f"{path} has no .zgroup or .zarray (Zarr v2) nor zarr.json (Zarr v3) at its "
                "root, so it is not a Zarr.",
            )
        ]
    if v3 and zarr.__version__.startswith("2."):
        return [_not_opened(asset_path, f"zarr-python {zarr.__version__} cannot read Zarr v3")]
    try:
        root = zarr.open(str(path), mode="r")
        root.attrs.asdict()
        broken = _broken_node(root, zarr.Group) if isinstance(root, zarr.Group) else None
    except Exception as exc:  # whatever zarr-python raises for a folder it cannot read
        return [_cannot_open(asset_path, f"zarr-python cannot open {path}: {_why(exc)}")]
    if broken is not None:
        node, error = broken
        return [
            _cannot_open(
                asset_path, f"zarr-python cannot open its node {node!r}: {_why(error)}", node
            )
        ]
    return _check_opened(zarr, root, path, asset_path, v3)


def _check_opened(zarr: Any, root: Any, path: Path, asset_path: str, v3: bool) -> list[Finding]:
    """A group holds something; consolidated metadata reads; an OME-Zarr has its metadata."""
    is_group = isinstance(root, zarr.Group)
    if is_group and len(root) == 0:
        return [Finding(asset_path, "ERROR", "dandi_zarr.empty_group", "Zarr group is empty.")]
    if (path / ".zmetadata").is_file():
        try:
            zarr.open_consolidated(str(path), mode="r")
        except Exception as exc:
            return [
                _cannot_open(
                    asset_path,
                    f"its consolidated metadata (.zmetadata) cannot be read: {_why(exc)}. "
                    "Readers that use it (neuropil.open_zarr) would fail: write it again "
                    "with zarr.consolidate_metadata, or remove it.",
                )
            ]
    if not is_ngff(asset_path):
        return []
    if not is_group:
        return [
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.NGFF_NO_MULTISCALES",
                "named as an OME-Zarr, but its root is an array: an OME-Zarr's root is a group "
                "with 'multiscales' metadata. Name the folder .zarr if it is not an OME-Zarr.",
            )
        ]
    where = V3_METADATA if v3 else ".zattrs"
    return check_ngff(root.attrs.asdict(), _array_test(root, zarr.Array), asset_path, where)


def _broken_node(group: Any, group_type: type, prefix: str = "") -> tuple[str, Exception] | None:
    """The first array or group below ``group`` whose metadata or attributes zarr-python
    cannot read (``dandi validate`` opens the root only), with the reason."""
    for name in sorted([*group.array_keys(), *group.group_keys()]):
        try:
            node = group[name]
            node.attrs.asdict()
        except Exception as exc:
            return prefix + name, exc
        if isinstance(node, group_type):
            found = _broken_node(node, group_type, f"{prefix}{name}/")
            if found is not None:
                return found
    return None


def _array_test(group: Any, array_type: type) -> Callable[[str], bool]:
    def is_array(path: str) -> bool:
        try:
            return isinstance(group[path], array_type)
        except (KeyError, ValueError):  # absent, or a path zarr-python refuses
            return False

    return is_array


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _cannot_open(asset_path: str, message: str, location: str | None = None) -> Finding:
    return Finding(asset_path, "ERROR", "zarr.cannot_open", message, location=location)


def _not_opened(asset_path: str, why: str) -> Finding:
    return Finding(
        asset_path, "WARNING", "NEUROPIL.ZARR_NOT_OPENED", f"not opened to check it: {why}."
    )
