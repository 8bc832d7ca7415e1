"""Downloading a Zarr asset's files into a local folder, verified.

Keys whose local copy already has the remote md5 are not fetched again; every key fetched
is checked against its md5 before it replaces the local file (written to a temporary name,
then renamed). For the whole Zarr (no ``prefix``), local files the Zarr no longer has are
removed with ``sync`` and the checksum of the result must equal the archive's.

A neuropil archive sends the files in batches: a range of the listing as one tar
(``GET /api/zarr/<id>/archive/``, :mod:`neuropil.services.zarr.bulk`), several ranges at a
time, each file checked against the listing's md5. Elsewhere (the DANDI Archive answers 404)
a key is found with DANDI's ``files/?prefix=<key>&download=true``, which redirects to where
its bytes are. When the first redirect names a plain URL ending in the key (a public
bucket), the other keys are fetched straight from there: one request per key, not two.
Keys are small, so :data:`FETCHES_PER_JOB` run per job.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from neuropil.client.download_records import DownloadResult, Failure
from neuropil.client.events import FileDone, FileStarted, ProgressCallback
from neuropil.client.zarr_local import local_keys, md5_of
from neuropil.core.zarr_checksum import ZarrFile, zarr_checksum
from neuropil.core.zarr_paths import validate_zarr_key
from neuropil.errors import BlobChanged, NeuropilError
from neuropil.http import redirects
from neuropil.http.transport import Transport

PARTIAL_SUFFIX = ".npdownload"
#: Concurrent fetches per job: Zarr keys are small, a fetch is mostly a round trip.
FETCHES_PER_JOB = 4
#: neuropil's tar batches: a range of the listing of about this many bytes or files.
BULK_BYTES = 8 << 20
BULK_FILES = 1000


@dataclass
class ZarrDownloadResult:
    zarr_id: str
    checksum: str | None
    fetched: list[str] = field(default_factory=list)
    kept: int = 0
    removed: list[str] = field(default_factory=list)


def _download_url(t: Transport, zarr_id: str, key: str) -> str:
    return t.url(f"zarr/{zarr_id}/files/?{urlencode({'prefix': key, 'download': 'true'})}")


def key_base(t: Transport, zarr_id: str, key: str) -> str | None:
    """The URL the Zarr's keys are read under (``<base><key>``), if the download of ``key``
    redirects to a plain URL ending in it; ``None`` otherwise (presigned URLs differ per key)."""
    key_url = redirects.Follower(t, _download_url(t, zarr_id, key))
    key_url.resolve("GET")
    target = key_url.url
    tail = quote(key)
    if target == key_url.start or urlsplit(target).query or not target.endswith("/" + tail):
        return None
    return target[: -len(tail)]


def _fetch(t: Transport, zarr_id: str, entry: dict[str, Any], dest: Path, base: str | None) -> None:
    key = validate_zarr_key(entry["Key"])  # never a path out of ``dest``
    url = base + quote(key) if base else _download_url(t, zarr_id, key)
    _write(dest, entry, redirects.get(t, url).content)


def _write(dest: Path, entry: dict[str, Any], body: bytes) -> None:
    """Put a fetched file in place once it has the listing's md5 and size."""
    key = validate_zarr_key(entry["Key"])  # never a path out of ``dest``
    if hashlib.md5(body).hexdigest() != entry["ETag"] or len(body) != entry["Size"]:
        raise BlobChanged(f"Zarr file {key!r} did not arrive intact (md5 or size differ).")
    target = dest / key
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + PARTIAL_SUFFIX)
    tmp.write_bytes(body)
    os.replace(tmp, target)


Range = tuple[str, list[dict[str, Any]]]


def _ranges(entries: list[dict[str, Any]], stale: set[str]) -> list[Range]:
    """The listing cut into runs of about :data:`BULK_BYTES`, each with the key before it;
    only the runs that hold a stale key."""
    runs: list[Range] = []
    after, size = "", 0
    run: list[dict[str, Any]] = []
    for e in entries:
        if run and (len(run) >= BULK_FILES or size + e["Size"] > BULK_BYTES):
            runs.append((after, run))
            after, run, size = run[-1]["Key"], [], 0
        run.append(e)
        size += e["Size"]
    if run:
        runs.append((after, run))
    return [(a, r) for a, r in runs if any(e["Key"] in stale for e in r)]


def _fetch_range(
    t: Transport, zarr_id: str, prefix: str, span: Range, stale: set[str], dest: Path
) -> bool:
    """One run of the listing as a tar, its stale files written; ``False`` where the archive
    sends no tars."""
    after, run = span
    params = {"prefix": prefix, "after": after, "limit": len(run)}
    r = t.request("GET", f"zarr/{zarr_id}/archive/", params=params, ok=(404, 405))
    if r.status_code >= 400:
        return False
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:") as tar:
        members = tar.getmembers()
        if [m.name for m in members] != [e["Key"] for e in run]:
            raise BlobChanged("The Zarr changed while it was downloaded; download again.")
        for member, entry in zip(members, run, strict=True):
            if entry["Key"] in stale:
                data = tar.extractfile(member)
                _write(dest, entry, data.read() if data is not None else b"")
    return True


def _fetch_all(
    t: Transport,
    zarr_id: str,
    prefix: str,
    entries: list[dict[str, Any]],
    stale: set[str],
    dest: Path,
    jobs: int,
) -> bool:
    """The stale files in tar batches, several at once; ``False`` (nothing fetched) where
    the archive sends no tars."""
    spans = _ranges(entries, stale)
    if not spans:
        return True
    if not _fetch_range(t, zarr_id, prefix, spans[0], stale, dest):
        return False
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for done in pool.map(lambda s: _fetch_range(t, zarr_id, prefix, s, stale, dest), spans[1:]):
            if not done:
                raise BlobChanged("The archive stopped sending batches of Zarr files.")
    return True


def _prune(dest: Path, keep: set[str]) -> list[str]:
    removed = []
    for key, item in local_keys(dest).items():
        if key not in keep:
            item.path.unlink()
            removed.append(key)
    for dirpath, _, _ in sorted(os.walk(dest), key=lambda w: -len(w[0])):
        d = Path(dirpath)
        if d != dest and not any(d.iterdir()):
            d.rmdir()
    return sorted(removed)


def download_zarr(
    transport: Transport,
    *,
    zarr_id: str,
    dest: Path,
    prefix: str = "",
    sync: bool = True,
    jobs: int = 4,
    progress: Callable[[int], None] | None = None,
) -> ZarrDownloadResult:
    """Bring ``dest`` up to date with the Zarr (or with the key or folder ``prefix`` names:
    ``0/1`` is the key ``0/1`` or the keys under ``0/1/``, not ``0/10``; a ``prefix`` that
    ends in ``/`` is a folder). With a ``prefix`` no local file is removed and the Zarr's
    checksum is not compared (each file's md5 still is)."""
    params = {"prefix": prefix} if prefix else None
    entries = list(transport.paginate(f"zarr/{zarr_id}/files/", params))
    if prefix and not prefix.endswith("/"):
        # The listing is in key order, so these stay a run at its start ("/" sorts before
        # any name character): the tar batches of the same prefix hold them first.
        entries = [e for e in entries if e["Key"] == prefix or e["Key"].startswith(prefix + "/")]
    dest.mkdir(parents=True, exist_ok=True)
    have = local_keys(dest)

    def current(e: dict[str, Any]) -> bool:
        item = have.get(e["Key"])
        return item is not None and item.size == e["Size"] and md5_of(item.path) == e["ETag"]

    with ThreadPoolExecutor(max_workers=max(1, jobs * FETCHES_PER_JOB)) as pool:
        stale = [e for e, ok in zip(entries, pool.map(current, entries), strict=True) if not ok]
    keys = {e["Key"] for e in stale}
    if _fetch_all(transport, zarr_id, prefix, entries, keys, dest, jobs * 2):
        if progress is not None and stale:
            progress(sum(int(e["Size"]) for e in stale))
    else:
        _fetch_each(transport, zarr_id, stale, dest, jobs * FETCHES_PER_JOB, progress)
    result = ZarrDownloadResult(zarr_id, None, [e["Key"] for e in stale])
    result.kept = len(entries) - len(stale)
    if prefix:
        return result
    if sync:
        result.removed = _prune(dest, {e["Key"] for e in entries})
    z = transport.get_json(f"zarr/{zarr_id}/")
    got = str(zarr_checksum(ZarrFile(e["Key"], e["ETag"], e["Size"]) for e in entries))
    if z.get("checksum") and got != z["checksum"]:
        raise BlobChanged(
            f"The Zarr changed while it was downloaded (checksum {got}, now {z['checksum']}); "
            "download again."
        )
    result.checksum = got
    return result


def _fetch_each(
    t: Transport,
    zarr_id: str,
    stale: list[dict[str, Any]],
    dest: Path,
    fetches: int,
    progress: Callable[[int], None] | None,
) -> None:
    """DANDI's way: one GET per key (two for the first, which finds the key URLs' base)."""
    base = key_base(t, zarr_id, stale[0]["Key"]) if stale else None

    def fetch(e: dict[str, Any]) -> None:
        _fetch(t, zarr_id, e, dest, base)
        if progress is not None:
            progress(int(e["Size"]))

    with ThreadPoolExecutor(max_workers=max(1, fetches)) as pool:
        list(pool.map(fetch, stale))


def fetch_zarr_asset(
    transport: Transport,
    *,
    zarr_id: str,
    asset_path: str,
    local: Path,
    result: DownloadResult,
    prefix: str = "",
    jobs: int = 4,
    progress: ProgressCallback | None = None,
) -> None:
    """One Zarr asset of a download (``neuropil download``): the folder ``local`` mirrors
    the Zarr (or its key or folder ``prefix``: a URL that names a path inside the Zarr); its
    files count as covered (a ``--sync`` of the dandiset keeps them)."""
    if progress is not None:
        progress(FileStarted(asset_path, 0))
    try:
        done = download_zarr(transport, zarr_id=zarr_id, dest=local, prefix=prefix, jobs=jobs)
    except NeuropilError as exc:
        result.failures.append(Failure(asset_path, str(exc)))
        if progress is not None:
            progress(FileDone(asset_path, "failed", str(exc)))
        return
    result.files.extend(k.path for k in local_keys(local).values())
    if done.fetched or done.removed:
        result.done += 1
    else:
        result.skipped += 1
    if progress is not None:
        progress(FileDone(asset_path, "done" if done.fetched else "skipped", ""))
