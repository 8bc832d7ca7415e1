"""The one validation pipeline, shared by ``neuropil upload`` and ``neuropil validate``.

Per file, in this order: the asset path is one the archive accepts; the file is readable;
for ``.nwb`` files the content checks of :mod:`.nwb_content` (HDF5, pynwb, nwbinspector),
the metadata extraction (and its dandischema check) of :mod:`.asset_metadata`, and DANDI's
layout rules of :mod:`.layout` (skipped inside BIDS datasets and outside any dandiset).
A Zarr folder is one asset, checked as a whole by :func:`validate_zarr_folders`
(:mod:`.zarr_folder`).

NWB files are checked in parallel in worker processes (pynwb and nwbinspector hold the
GIL): the pool uses the ``forkserver`` start method, whose server imports pynwb and
nwbinspector once (:mod:`._preload`) and forks each worker from that, so workers start in
milliseconds and the caller's threads (an upload's) are never forked. Other files take
microseconds and are checked in the calling process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuropil.validation.asset_metadata import (
    ExtractionCache,
    FileKey,
    extract,
    is_nwb,
)
from neuropil.validation.findings import Finding
from neuropil.validation.layout import (
    check_asset_path,
    check_organized_path,
    check_readable,
    in_bids_dataset,
    outside_dandiset,
)
from neuropil.validation.zarr_folder import check_zarr_folder

log = logging.getLogger(__name__)

#: Start one more worker process per this many NWB files (up to ``jobs``).
FILES_PER_WORKER = 4


@dataclass
class FileResult:
    """What checking one file found, and (NWB files) the metadata extracted on the way."""

    findings: list[Finding] = field(default_factory=list)
    key: FileKey | None = None
    metadata: dict[str, Any] | None = None


def validate_files(
    paths: Iterable[Path | str],
    *,
    dandiset_root: Path | str,
    jobs: int = 1,
    layout: bool = True,
    cache: ExtractionCache | None = None,
) -> list[Finding]:
    """Validate each file in ``paths`` as an asset of the dandiset at ``dandiset_root``.

    Returns every finding (no exception for a bad file), in the order of ``paths``.
    ``jobs`` NWB files are checked at once. ``layout=False`` skips DANDI's naming rules
    (files in no dandiset). The metadata extracted from NWB files goes into ``cache``.
    """
    root = Path(os.path.abspath(dandiset_root))
    files = [Path(os.path.abspath(p)) for p in paths]
    results: list[FileResult | None] = [None] * len(files)
    heavy = [i for i, p in enumerate(files) if is_nwb(p.name)]
    # A worker's first file costs it the NWB schema set-up (~0.5 s): not worth it for a few.
    workers = min(jobs, -(-len(heavy) // FILES_PER_WORKER), os.cpu_count() or 1)
    if workers > 1:
        with _pool(workers) as pool:
            futures = {i: pool.submit(check_file, str(files[i]), str(root), layout) for i in heavy}
            for i, p in enumerate(files):
                if i not in futures:
                    results[i] = check_file(str(p), str(root), layout)
            for i, future in futures.items():
                try:
                    results[i] = future.result()
                except BrokenProcessPool:  # a worker died (HDF5 can crash on a corrupt file)
                    results[i] = _crashed(files[i], root)
    else:
        results = [check_file(str(p), str(root), layout) for p in files]
    findings: list[Finding] = []
    for result in results:
        assert result is not None
        findings.extend(result.findings)
        if cache is not None and result.key is not None and result.metadata is not None:
            cache.put(result.key, result.metadata)
    return findings


def validate_zarr_folders(
    paths: Iterable[Path | str], *, dandiset_root: Path | str
) -> list[Finding]:
    """Validate each Zarr folder in ``paths`` as one asset of the dandiset at ``dandiset_root``
    (its keys, its depth, zarr-python opening it, OME-NGFF metadata by its name).

    Returns every finding, in the order of ``paths``; never raises for a bad folder.
    """
    root = Path(os.path.abspath(dandiset_root))
    findings: list[Finding] = []
    for given in paths:
        path = Path(os.path.abspath(given))
        try:
            asset_path = path.relative_to(root).as_posix()
        except ValueError:
            findings.append(outside_dandiset(path, root))
            continue
        try:
            findings.extend(check_zarr_folder(path, asset_path))
        except Exception as exc:  # a validator's own failure is this folder's error
            log.exception("validating %s", path)
            findings.append(_failed(path, asset_path, exc))
    return findings


def _pool(workers: int) -> Executor:
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["neuropil.validation._preload"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def check_file(path_text: str, root_text: str, layout: bool = True) -> FileResult:
    """Every check of one file (a module-level function: worker processes run it).

    Never raises for a bad file: a validator's own failure is an ERROR finding."""
    path, root = Path(path_text), Path(root_text)
    try:
        return _check_file(path, root, layout)
    except Exception as exc:
        log.exception("validating %s", path)
        return FileResult([_failed(path, _relative(path, root), exc)])


def _failed(path: Path, asset_path: str, exc: Exception) -> Finding:
    return Finding(
        asset_path,
        "ERROR",
        "NEUROPIL.VALIDATION_FAILED",
        f"validating {path} failed: {type(exc).__name__}: {exc}",
    )


def _crashed(path: Path, root: Path) -> FileResult:
    return FileResult(
        [
            Finding(
                _relative(path, root),
                "ERROR",
                "NEUROPIL.VALIDATOR_CRASHED",
                f"a validation worker process died while checking files, {path} among them "
                "(HDF5 can crash on a damaged file); validate with --jobs 1 to find the file.",
            )
        ]
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _check_file(path: Path, root: Path, layout: bool) -> FileResult:
    try:
        asset_path = path.relative_to(root).as_posix()
    except ValueError:
        return FileResult([outside_dandiset(path, root)])
    result = FileResult(check_asset_path(asset_path))
    unreadable = check_readable(path, asset_path)
    result.findings.extend(unreadable)
    if not is_nwb(asset_path):
        return result
    if not unreadable:
        _check_nwb(path, asset_path, result)
    if layout and not in_bids_dataset(path, root):
        result.findings.extend(check_organized_path(asset_path))
    return result


def _check_nwb(path: Path, asset_path: str, result: FileResult) -> None:
    from neuropil.validation.nwb_content import check_nwb

    key = FileKey.of(path)  # taken before reading: a later change makes the cache miss
    findings, readable = check_nwb(path, asset_path)
    result.findings.extend(findings)
    if not readable:
        return
    metadata, problems = extract(path, asset_path)
    result.findings.extend(problems)
    result.key, result.metadata = key, metadata
