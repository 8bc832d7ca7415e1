"""Uploading a local Zarr folder as one asset, through DANDI's Zarr API.

The same protocol the official client speaks (reference §7.9), so it works against the DANDI
Archive too: the asset's Zarr is reused (or created; an orphan of the same name is adopted),
the local md5s are compared with the remote listing's ETags and only changed keys are sent,
in batches of upload URLs whose PUTs run in parallel with retries (a 403, an expired URL,
gets fresh URLs), remote-only keys are deleted (``mode="full"``), then the Zarr is finalized
and the checksum the server computed must equal the local one.

Zarr files are small (chunks of kilobytes): a request per file costs far more than its
bytes. A neuropil archive takes them in batches, a tar stream per request
(``POST /api/zarr/<id>/archive/``, :mod:`neuropil.services.zarr.bulk`), several batches at a
time. Elsewhere (the DANDI Archive answers 404) the PUTs of every batch of upload URLs
share one pool of :data:`PUTS_PER_JOB` threads per job, and the next batch's URLs are asked
for while the PUTs of the one before are still running.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuropil.client.zarr_local import LocalKey, checksum_of, local_keys, md5s_of
from neuropil.core.zarr_checksum import ARCHIVE_MD5S_HEADER, ZARR_MEDIA_TYPE
from neuropil.core.zarr_paths import key_parents
from neuropil.errors import (
    NeuropilError,
    RemoteBadRequest,
    RemoteError,
    RemoteForbidden,
    UsageError,
)
from neuropil.http.transport import Transport
from neuropil.localfiles import LocalFile

#: The official client's batch sizes: upload URLs per request, deletes per request.
UPLOAD_BATCH = 255
DELETE_BATCH = 100
#: Fresh URLs asked for a batch whose PUTs were refused (expired URLs), at most.
URL_RETRIES = 5
#: Concurrent PUTs per job (``--jobs``): small files, so mostly latency to hide.
PUTS_PER_JOB = 4
#: PUTs whose URLs are in hand but not yet sent, at most: URLs are asked for just ahead.
PUTS_AHEAD = 2 * UPLOAD_BATCH
#: neuropil's tar batches: files and bytes per request, and requests at once per job.
#: Small batches, many at once: the server writes (and fsyncs) a batch's files one by one,
#: and its fsyncs overlap only across batches. The first batch, which finds out whether the
#: archive takes batches at all, is smaller still.
BULK_FILES = 100
BULK_BYTES = 2 << 20
BULKS_PER_JOB = 4
FIRST_BULK = 10
INGEST_TIMEOUT = 600.0
DUPLICATE = "dandiset, name must make a unique set"


@dataclass
class ZarrUploadResult:
    """What an upload did: the asset, the Zarr, and what was sent or deleted."""

    asset: dict[str, Any]
    zarr_id: str
    checksum: str
    files_sent: int = 0
    bytes_sent: int = 0
    deleted: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return self.files_sent == 0 and not self.deleted


def _assets_url(dandiset_id: str) -> str:
    return f"dandisets/{dandiset_id}/versions/draft/assets/"


def _create_zarr(t: Transport, dandiset_id: str, name: str) -> str:
    r = t.request("POST", "zarr/", json={"name": name, "dandiset": dandiset_id}, ok=(400,))
    if r.status_code == 200:
        return str(r.json()["zarr_id"])
    if DUPLICATE not in r.text and "Zarr already exists" not in r.text:
        raise RemoteBadRequest(r.text, status_code=400, url=str(r.url))
    (orphan,) = t.paginate("zarr/", {"dandiset": dandiset_id, "name": name})
    return str(orphan["zarr_id"])


def ensure_asset(
    t: Transport, dandiset_id: str, asset_path: str, metadata: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The draft's Zarr asset at ``asset_path`` (its Zarr reused, or a new one) and its Zarr."""
    base = _assets_url(dandiset_id)
    found = [a for a in t.paginate(base, {"path": asset_path}) if a["path"] == asset_path]
    old = found[0] if found else None
    zarr_id = (
        str(old["zarr"]) if old and old.get("zarr") else _create_zarr(t, dandiset_id, asset_path)
    )
    md = {"schemaKey": "Asset", "encodingFormat": ZARR_MEDIA_TYPE, **metadata, "path": asset_path}
    body = {"metadata": md, "zarr_id": zarr_id}
    if old is None:
        return zarr_id, dict(t.request("POST", base, json=body).json())
    return zarr_id, dict(t.request("PUT", f"{base}{old['asset_id']}/", json=body).json())


@dataclass(frozen=True)
class Plan:
    """The keys to send, and the remote keys to delete before (clashes) and after."""

    send: list[str]
    delete_first: list[str]
    delete_after: list[str]


def plan(
    local: Mapping[str, LocalKey], md5s: Mapping[str, str], remote: Mapping[str, str], mode: str
) -> Plan:
    """Compare local md5s with the remote ETags (``remote``: key -> md5)."""
    send = [k for k in sorted(local) if remote.get(k) != md5s[k]]
    local_dirs = {p for k in local for p in key_parents(k)}
    # A remote file where a local folder is, or a remote folder where a local file is.
    clashes = sorted(
        k for k in remote if k in local_dirs or any(p in local for p in key_parents(k))
    )
    rest = [k for k in sorted(remote) if k not in local and k not in clashes]
    return Plan(send, clashes, rest if mode == "full" else [])


def _delete(t: Transport, zarr_id: str, keys: list[str]) -> None:
    for i in range(0, len(keys), DELETE_BATCH):
        batch = [{"path": k} for k in keys[i : i + DELETE_BATCH]]
        t.request("DELETE", f"zarr/{zarr_id}/files/", json=batch)


def _put(t: Transport, url: str, item: LocalKey, md5: str) -> None:
    data = item.path.read_bytes()
    if len(data) != item.size:
        raise UsageError(f"{item.path} changed while it was uploaded; upload again.")
    headers = {"Content-MD5": base64.b64encode(bytes.fromhex(md5)).decode()}
    if item.key.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json"):
        headers["Content-Type"] = "application/json"
    t.request("PUT", url, auth=False, content=data, headers=headers)


def _batches(items: list[LocalKey]) -> list[list[LocalKey]]:
    out: list[list[LocalKey]] = [items[:FIRST_BULK], []]
    size = 0
    for item in items[FIRST_BULK:]:
        if out[-1] and (len(out[-1]) >= BULK_FILES or size + item.size > BULK_BYTES):
            out.append([])
            size = 0
        out[-1].append(item)
        size += item.size
    return out


def _tar(items: list[LocalKey], md5s: Mapping[str, str]) -> bytes:
    """The files as a tar, each named by its key; their md5s in one global PAX header."""
    out = io.BytesIO()
    manifest = json.dumps({item.key: md5s[item.key] for item in items})
    out.write(tarfile.TarInfo.create_pax_global_header({ARCHIVE_MD5S_HEADER: manifest}))
    for item in items:
        data = item.path.read_bytes()
        if len(data) != item.size:
            raise UsageError(f"{item.path} changed while it was uploaded; upload again.")
        info = tarfile.TarInfo(item.key)
        info.size = len(data)
        out.write(info.tobuf(format=tarfile.PAX_FORMAT))
        out.write(data)
        out.write(b"\0" * (-len(data) % tarfile.BLOCKSIZE))
    out.write(b"\0" * (2 * tarfile.BLOCKSIZE))
    return out.getvalue()


def _post_tar(t: Transport, zarr_id: str, batch: list[LocalKey], md5s: Mapping[str, str]) -> bool:
    """Send one batch to neuropil's archive endpoint; ``False`` if the archive has none."""
    r = t.request(
        "POST",
        f"zarr/{zarr_id}/archive/",
        content=_tar(batch, md5s),
        headers={"Content-Type": "application/x-tar"},
        ok=(404, 405),
    )
    return r.status_code < 400


def _send_bulk(
    t: Transport, zarr_id: str, items: list[LocalKey], md5s: Mapping[str, str], jobs: int
) -> bool:
    """Send the items as tar batches, several at once; ``False`` (nothing sent) where the
    archive takes no batches."""
    first, *rest = [b for b in _batches(items) if b]
    if not _post_tar(t, zarr_id, first, md5s):
        return False
    with ThreadPoolExecutor(max_workers=max(1, jobs * BULKS_PER_JOB)) as pool:
        for done in pool.map(lambda b: _post_tar(t, zarr_id, b, md5s), rest):
            if not done:
                raise RemoteError(
                    "The archive stopped taking batches of Zarr files.", status_code=404
                )
    return True


def _send(
    t: Transport, zarr_id: str, items: list[LocalKey], md5s: Mapping[str, str], jobs: int
) -> None:
    """Send every item: tar batches where the archive takes them (neuropil), else a PUT per
    upload URL; keys whose URL was refused (expired) get fresh URLs, a few times."""
    if items and _send_bulk(t, zarr_id, items, md5s, jobs):
        return
    pending = items
    for attempt in range(URL_RETRIES + 1):
        pending = _send_once(t, zarr_id, pending, md5s, jobs * PUTS_PER_JOB)
        if not pending:
            return
        time.sleep(min(2**attempt, 30))
    raise RemoteError(
        f"{len(pending)} Zarr files were refused {URL_RETRIES + 1} times (expired URLs?)",
        status_code=403,
    )


def _send_once(
    t: Transport, zarr_id: str, items: list[LocalKey], md5s: Mapping[str, str], puts: int
) -> list[LocalKey]:
    """PUT each item once, URLs asked a batch at a time just ahead of the PUTs; returns the
    items whose URL was refused. Any other failure stops asking for more and is raised."""
    ahead = threading.BoundedSemaphore(PUTS_AHEAD)
    failed = threading.Event()

    def one(url: str, item: LocalKey) -> LocalKey | None:
        try:
            _put(t, url, item, md5s[item.key])
        except RemoteForbidden:
            return item
        except BaseException:
            failed.set()
            raise
        finally:
            ahead.release()
        return None

    futures = []
    with ThreadPoolExecutor(max_workers=max(1, puts)) as pool:
        for i in range(0, len(items), UPLOAD_BATCH):
            if failed.is_set():
                break
            batch = items[i : i + UPLOAD_BATCH]
            body = [
                {"path": k.key, "base64md5": base64.b64encode(bytes.fromhex(md5s[k.key])).decode()}
                for k in batch
            ]
            urls = t.post_json(f"zarr/{zarr_id}/files/", body)
            for url, item in zip(urls, batch, strict=True):
                ahead.acquire()
                futures.append(pool.submit(one, url, item))
    return [refused for f in futures if (refused := f.result()) is not None]


def finalize_and_wait(
    t: Transport, zarr_id: str, *, timeout: float = INGEST_TIMEOUT, poll: float = 0.5
) -> dict[str, Any]:
    """Ask for the checksum and wait until the Zarr is Complete; returns it. Polled often at
    first (an ingest of a few thousand keys takes a fraction of a second), then every
    ``poll`` seconds."""
    t.request("POST", f"zarr/{zarr_id}/finalize/", ok=(400,))
    deadline = time.monotonic() + timeout
    wait = min(0.05, poll)
    while True:
        z: dict[str, Any] = t.get_json(f"zarr/{zarr_id}/")
        if z["status"] == "Complete":
            return z
        if time.monotonic() > deadline:
            raise RemoteError(
                f"Zarr {zarr_id} was not ingested within {timeout:.0f} s", status_code=0
            )
        time.sleep(wait)
        wait = min(wait * 2, poll)


def upload_zarr(
    transport: Transport,
    *,
    dandiset_id: str,
    folder: Path,
    asset_path: str,
    metadata: Mapping[str, Any] | None = None,
    mode: str = "full",
    jobs: int = 4,
    progress: Callable[[int], None] | None = None,
) -> ZarrUploadResult:
    """Upload the Zarr at ``folder`` to the draft asset ``asset_path`` (see the module).

    ``mode="patch"`` never deletes remote keys. ``progress`` gets the bytes of each file sent.
    """
    if mode not in ("full", "patch"):
        raise UsageError("mode must be 'full' or 'patch'.")
    local = local_keys(folder)
    if not local:
        raise UsageError(f"{folder} holds no files: an empty Zarr cannot be uploaded.")
    md5s = md5s_of(local.values(), jobs=jobs)
    zarr_id, asset = ensure_asset(transport, dandiset_id, asset_path, metadata or {})
    remote = {e["Key"]: e["ETag"] for e in transport.paginate(f"zarr/{zarr_id}/files/")}
    todo = plan(local, md5s, remote, mode)
    result = ZarrUploadResult(asset, zarr_id, "")
    _delete(transport, zarr_id, todo.delete_first)
    sending = [local[k] for k in todo.send]
    _send(transport, zarr_id, sending, md5s, jobs)
    result.files_sent = len(sending)
    result.bytes_sent = sum(item.size for item in sending)
    if progress is not None and sending:
        progress(result.bytes_sent)
    _delete(transport, zarr_id, todo.delete_after)
    result.deleted = todo.delete_first + todo.delete_after
    z = transport.get_json(f"zarr/{zarr_id}/")
    if not result.unchanged or z["status"] != "Complete":
        z = finalize_and_wait(transport, zarr_id)
    result.checksum = str(z["checksum"])
    if mode == "full" and result.checksum != checksum_of(local, md5s):
        raise RemoteError(
            f"The archive's checksum of {asset_path} ({result.checksum}) is not the local one "
            f"({checksum_of(local, md5s)}); upload again.",
            status_code=0,
        )
    result.asset = transport.get_json(f"{_assets_url(dandiset_id)}{asset['asset_id']}/info/")
    return result


def upload_zarr_folders(
    transport: Transport, dandiset_id: str, folders: list[LocalFile], *, jobs: int = 4
) -> Iterator[tuple[str, ZarrUploadResult | NeuropilError]]:
    """Upload each Zarr folder of a dandiset (``neuropil upload``); one folder's failure
    never stops the others: yields ``(asset path, result or error)``."""
    for folder in folders:
        try:
            yield (
                folder.asset_path,
                upload_zarr(
                    transport,
                    dandiset_id=dandiset_id,
                    folder=folder.path,
                    asset_path=folder.asset_path,
                    jobs=jobs,
                ),
            )
        except NeuropilError as exc:
            yield folder.asset_path, exc
