"""The steps of a Python-API download into a local Dandiset directory.

:class:`~neuropil.client.archive.Archive` decides what goes where (the layout of
``dandi download``); these steps do it and count into one
:class:`~neuropil.client.download_records.DownloadResult`: the assets through the download
engine, ``dandiset.yaml`` under the official client's rules for existing files, and the
deletions of ``sync``. A failing file is recorded and reported, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from neuropil.client.download_records import DownloadResult, Failure, RemoteEntry
from neuropil.client.events import FileDone, ProgressCallback, Status
from neuropil.client.instances import Instance
from neuropil.client.layout import SyncScope, prune_empty_dirs, sorted_metadata, yaml_verdict
from neuropil.client.local_tree import sync_delete, write_dandiset_yaml
from neuropil.client.models import Asset, Dandiset
from neuropil.client.zarr_download import fetch_zarr_asset
from neuropil.errors import NeuropilError, RemoteError, Unsupported
from neuropil.http.transport import Transport

DANDISET_YAML = "dandiset.yaml"

#: Asked before ``sync`` deletes local files; False keeps them.
ConfirmLocalDelete = Callable[[Sequence[Path]], bool]


def fetch_assets(
    transport: Transport,
    items: Iterable[tuple[Asset, Path]],
    result: DownloadResult,
    *,
    existing: str,
    jobs: int,
    connections: int,
    progress: ProgressCallback | None,
    zarr_prefix: str = "",
) -> None:
    """Download each asset to its local path; an asset that cannot be downloaded at all
    (no digest) fails on its own, without a request. A Zarr asset is mirrored as a folder,
    only its key or folder ``zarr_prefix`` when one is given."""
    from neuropil.client.download import download_files  # the engine loads on first use

    planned: list[tuple[RemoteEntry, Path]] = []
    for asset, local in items:
        if asset.zarr is not None:  # a folder of keys, mirrored by its own engine
            fetch_zarr_asset(
                transport,
                zarr_id=asset.zarr,
                asset_path=asset.path,
                local=local,
                result=result,
                prefix=zarr_prefix,
                jobs=connections,
                progress=progress,
            )
            continue
        result.files.append(local)
        try:
            planned.append((asset.remote_entry(), local))
        except (Unsupported, ValueError, RemoteError) as exc:
            result.failures.append(Failure(asset.path, str(exc)))
            if progress is not None:
                progress(FileDone(asset.path, "failed", str(exc)))
    report = download_files(
        transport,
        planned,
        existing=existing,
        jobs=jobs,
        connections=connections,
        progress=progress,
    )
    result.add(report)


def write_yaml(
    instance: Instance,
    ds: Dandiset,
    root: Path,
    existing: str,
    result: DownloadResult,
    progress: ProgressCallback | None,
) -> None:
    """Write ``root/dandiset.yaml`` under the official client's rules for existing files;
    its header names ``instance``'s page of the Dandiset."""
    path = root / DANDISET_YAML
    result.files.append(path)
    status: Status = "done"
    message = ""
    try:
        verdict = yaml_verdict(path, ds, existing)
        if verdict is not None:
            status, message = verdict
        else:
            site = instance.web_url or instance.api_url
            write_dandiset_yaml(
                root,
                sorted_metadata(ds.metadata),
                f"{site}/dandiset/{ds.identifier}",
                modified=ds.modified,
            )
    except (OSError, NeuropilError) as exc:
        status, message = "failed", str(exc)
    if status == "done":
        result.done += 1
    elif status == "skipped":
        result.skipped += 1
    else:
        result.failures.append(Failure(DANDISET_YAML, message))
    if progress is not None:
        progress(FileDone(DANDISET_YAML, status, message))


def sync_local(
    root: Path, scope: SyncScope, result: DownloadResult, confirm: ConfirmLocalDelete | None
) -> None:
    """Delete the local files in ``scope`` that the download did not cover, if ``confirm``
    (when given) agrees; kept files are listed in ``result.not_deleted``."""
    base = root / scope.base
    if not base.is_dir():
        return
    extra = [
        p
        for p in sync_delete(base, set(result.files))
        if scope.contains(p.relative_to(root).as_posix())
    ]
    if not extra:
        return
    if confirm is not None and not confirm(extra):
        result.not_deleted.extend(extra)
        return
    for p in extra:
        p.unlink(missing_ok=True)
        result.deleted.append(p)
    prune_empty_dirs(root, {p.parent for p in extra})
