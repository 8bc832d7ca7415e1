"""Uploading one file through DANDI's multipart protocol (parallel parts, dedup by etag)."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from neuropil.client.transport import Transport
from neuropil.core.digests import ETAG_ALGORITHM, file_etag
from neuropil.errors import RemoteError


def _read_part(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        return os.pread(f.fileno(), size, offset)


def upload_blob(
    transport: Transport,
    *,
    dandiset_id: str,
    path: Path,
    etag: str | None = None,
    jobs: int = 4,
) -> str:
    """Upload the bytes of ``path`` unless the archive has them; returns the blob id."""
    size = path.stat().st_size
    etag = etag or file_etag(path)
    resp = transport.request(
        "POST",
        "uploads/initialize/",
        ok=(409,),
        json={
            "contentSize": size,
            "digest": {"algorithm": ETAG_ALGORITHM, "value": etag},
            "dandiset": dandiset_id,
        },
    )
    if resp.status_code == 409:
        return resp.headers["location"]
    init = resp.json()

    def send(part: dict[str, Any]) -> dict[str, Any]:
        offset = sum(p["size"] for p in init["parts"] if p["part_number"] < part["part_number"])
        data = _read_part(path, offset, part["size"])
        r = transport.request("PUT", part["upload_url"], auth=False, content=data)
        return {
            "part_number": part["part_number"],
            "size": part["size"],
            "etag": r.headers["etag"].strip('"'),
        }

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(send, init["parts"]))
    upload_id = init["upload_id"]
    fin = transport.post_json(f"uploads/{upload_id}/complete/", {"parts": done})
    xml = transport.request("POST", fin["complete_url"], auth=False, content=fin["body"]).text
    m = re.search(r"<ETag>(?:&quot;|\")?([0-9a-f]{32}-\d+)", xml)
    if m is None or m.group(1) != etag:
        raise RemoteError(f"upload of {path} completed with an unexpected ETag", status_code=0)
    return str(transport.post_json(f"uploads/{upload_id}/validate/")["blob_id"])


def upload_file(
    transport: Transport,
    *,
    dandiset_id: str,
    path: Path,
    asset_path: str,
    metadata: dict[str, Any] | None = None,
    jobs: int = 4,
) -> dict[str, Any]:
    """Upload a file and add (or replace) the asset at ``asset_path`` in the draft."""
    etag = file_etag(path)
    blob_id = upload_blob(transport, dandiset_id=dandiset_id, path=path, etag=etag, jobs=jobs)
    md = {
        "path": asset_path,
        "contentSize": path.stat().st_size,
        "digest": {ETAG_ALGORITHM: etag},
        **(metadata or {}),
    }
    base = f"dandisets/{dandiset_id}/versions/draft/assets/"
    existing = [
        a for a in transport.paginate(base, {"path": asset_path}) if a["path"] == asset_path
    ]
    body = {"metadata": md, "blob_id": blob_id}
    if existing:
        return transport.request("PUT", f"{base}{existing[0]['asset_id']}/", json=body).json()  # type: ignore[no-any-return]
    return transport.post_json(base, body)  # type: ignore[no-any-return]
