"""``neuropil validate PATHS``: which files a path means, grouped by the dandiset they are in.

A folder means the files an upload of it would send (:func:`neuropil.localfiles.select_files`:
dot files and partial downloads left out), so ``validate`` checks exactly what ``upload``
would; each Zarr folder in it is one asset, checked as a whole (:mod:`.zarr_folder`). The
dandiset's ``dandiset.yaml`` is checked when the dandiset's root is validated or the file is
named.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from neuropil.localfiles import DANDISET_YAML, dandiset_root_of, select_files
from neuropil.validation.asset_metadata import ExtractionCache
from neuropil.validation.dandiset import check_dandiset_yaml, no_dandiset
from neuropil.validation.findings import Finding
from neuropil.validation.pipeline import validate_files, validate_zarr_folders


@dataclass
class Checked:
    """The files checked below one folder: a dandiset's root, or (``in_dandiset`` false)
    the folder of files that are in no dandiset. ``files`` are relative to ``directory``."""

    directory: Path
    in_dandiset: bool
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def validate_paths(
    paths: Sequence[Path | str], *, jobs: int = 1, cache: ExtractionCache | None = None
) -> list[Checked]:
    """Validate the files at or below ``paths``; one :class:`Checked` per dandiset (or
    folder outside any dandiset), in the order first named."""
    groups: dict[tuple[Path, bool], list[Path]] = {}
    for given in paths:
        path = Path(os.path.abspath(given))
        root = dandiset_root_of(path)
        key = (root, True) if root is not None else (path if path.is_dir() else path.parent, False)
        groups.setdefault(key, []).append(path)
    return [
        _check_group(directory, in_dandiset, members, jobs, cache)
        for (directory, in_dandiset), members in groups.items()
    ]


def _check_group(
    directory: Path,
    in_dandiset: bool,
    members: list[Path],
    jobs: int,
    cache: ExtractionCache | None,
) -> Checked:
    checked = Checked(directory, in_dandiset)
    if not in_dandiset:
        checked.findings.extend(no_dandiset(p) for p in members)
    selection = select_files(directory, members)
    checked.files = [f.asset_path for f in selection.files]
    if in_dandiset and ("" in selection.scopes or DANDISET_YAML in selection.scopes):
        checked.files.insert(0, DANDISET_YAML)
        checked.findings.extend(check_dandiset_yaml(directory))
    checked.findings.extend(
        validate_files(
            [f.path for f in selection.files],
            dandiset_root=directory,
            jobs=jobs,
            layout=in_dandiset,
            cache=cache,
        )
    )
    checked.files.extend(folder.asset_path for folder in selection.zarrs)
    checked.findings.extend(
        validate_zarr_folders([folder.path for folder in selection.zarrs], dandiset_root=directory)
    )
    return checked
