"""Local Zarr folders for the tests, and DANDI's Zarr API driven over plain HTTP.

Checksums here come from the ``zarr_checksum`` package walking the local folder, the same
reference the official client uses, independent of the server's code.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import zarr
from zarr_checksum import compute_zarr_checksum
from zarr_checksum.generators import yield_files_local

from tests.api.helpers import wait_for

EMPTY_CHECKSUM = "481a2f77ab786a0f45aafd5db0971caa-0--0"


def make_zarr(path: Path, *, seed: int = 0) -> Path:
    """A small Zarr v2 group: a chunked int array, a float array in a subgroup, attributes,
    and consolidated metadata (``.zmetadata``)."""
    rng = np.random.default_rng(seed)
    root = zarr.open_group(str(path), mode="w")
    root.attrs["description"] = f"neuropil test zarr {seed}"
    root.create_dataset("data", data=np.arange(1000, dtype="i4").reshape(10, 100), chunks=(5, 50))
    sub = root.create_group("sub")
    sub.create_dataset("noise", data=rng.random((4, 4)), chunks=(2, 2))
    zarr.consolidate_metadata(str(path))
    return path


def make_ome_zarr(path: Path) -> Path:
    """A small OME-NGFF 0.4 image: a two-level pyramid (arrays ``0`` and ``1``) that the root
    group's ``multiscales`` attribute names."""
    root = zarr.open_group(str(path), mode="w")
    root.create_dataset("0", data=np.arange(64, dtype="u2").reshape(8, 8), chunks=(4, 4))
    root.create_dataset("1", data=np.arange(16, dtype="u2").reshape(4, 4), chunks=(4, 4))
    axes = [{"name": "y", "type": "space", "unit": "micrometer"}, {"name": "x", "type": "space"}]
    levels = [
        {"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": [2.0**i] * 2}]}
        for i in range(2)
    ]
    root.attrs["multiscales"] = [
        {"version": "0.4", "name": "img", "axes": axes, "datasets": levels}
    ]
    return path


def local_checksum(path: Path) -> str:
    """The Zarr checksum of a local folder (dotfiles included, as Zarr keys may start
    with a dot; the official client excludes only ``.dandi``, ``.git`` and the like)."""
    return str(compute_zarr_checksum(yield_files_local(path)))


def local_files(path: Path) -> dict[str, bytes]:
    """Key -> bytes of every file under ``path``."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def create_zarr(c: httpx.Client, dandiset: str, name: str) -> str:
    r = c.post("zarr/", json={"name": name, "dandiset": dandiset})
    assert r.status_code == 200, r.text
    return str(r.json()["zarr_id"])


def upload_files(c: httpx.Client, zarr_id: str, files: dict[str, bytes]) -> list[str]:
    """POST the batch, then PUT each file to its URL (no Authorization, as with S3)."""
    body = [{"path": k, "base64md5": b64md5(v)} for k, v in files.items()]
    r = c.post(f"zarr/{zarr_id}/files/", json=body)
    assert r.status_code == 200, r.text
    urls: list[str] = r.json()
    assert len(urls) == len(files)
    for (_, data), url in zip(files.items(), urls, strict=True):
        put = httpx.put(url, content=data, headers={"Content-MD5": b64md5(data)}, timeout=60)
        assert put.status_code == 200, put.text
        assert put.headers["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    return urls


def finalize(c: httpx.Client, zarr_id: str, *, timeout: float = 60) -> dict[str, Any]:
    """Finalize and wait until the ingest is Complete; returns the Zarr object."""
    r = c.post(f"zarr/{zarr_id}/finalize/")
    assert r.status_code == 204, r.text

    def complete() -> dict[str, Any] | None:
        z: dict[str, Any] = c.get(f"zarr/{zarr_id}/").json()
        return z if z["status"] == "Complete" else None

    return wait_for(complete, timeout=timeout)


def list_all(c: httpx.Client, zarr_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every listing entry, following ``next``."""
    out: list[dict[str, Any]] = []
    r = c.get(f"zarr/{zarr_id}/files", params=params)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["results"])
        if not page["next"]:
            return out
        r = c.get(page["next"])


def add_zarr_asset(c: httpx.Client, dandiset: str, path: str, zarr_id: str) -> dict[str, Any]:
    md = {"path": path, "encodingFormat": "application/x-zarr", "schemaKey": "Asset"}
    r = c.post(
        f"dandisets/{dandiset}/versions/draft/assets/", json={"metadata": md, "zarr_id": zarr_id}
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out
