"""HTTP helpers for the API tests: clients, dandisets and real multipart uploads.

Everything here talks HTTP to a running ``neuropil serve``; nothing reaches into the
server's process. Digests are computed independently with dandischema's part layout.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from dandischema.digests.dandietag import PartGenerator

T = TypeVar("T")

MiB = 1 << 20
#: dandischema's part size for everything below ~625 GiB.
PART_SIZE = 64 * MiB
ETAG = "dandi:dandi-etag"
SHA256 = "dandi:sha2-256"
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e-0"


def client(api_url: str, token: str | None = None) -> httpx.Client:
    """A client whose relative URLs resolve under ``api_url`` (``.../api/``)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.Client(base_url=api_url.rstrip("/") + "/", headers=headers, timeout=120.0)


def anonymous_put(url: str, content: Any, **kwargs: Any) -> httpx.Response:
    """A request with no Authorization header at all, as S3 presigned URLs are used."""
    return httpx.put(url, content=content, timeout=120.0, **kwargs)


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def unique_name(prefix: str = "ds") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def etag_of(data: bytes) -> str:
    """The dandi-etag: md5 of the concatenated part md5s, ``-`` part count."""
    parts = list(PartGenerator.for_file_size(len(data)))
    md5s = b"".join(hashlib.md5(data[p.offset : p.offset + p.size]).digest() for p in parts)
    return f"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def strip_query(url: str) -> str:
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, u.path, "", ""))


def wait_for(fn: Callable[[], T | None], *, timeout: float = 30.0, every: float = 0.2) -> T:
    """Poll ``fn`` until it returns something other than ``None``/``False``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


# -- dandisets -------------------------------------------------------------------------------
def create_dandiset(
    c: httpx.Client, name: str | None = None, metadata: dict[str, Any] | None = None
) -> str:
    r = c.post("dandisets/", json={"name": name or unique_name(), "metadata": metadata or {}})
    assert r.status_code == 200, r.text
    identifier = r.json()["identifier"]
    assert isinstance(identifier, str)
    return identifier


def draft_url(identifier: str) -> str:
    return f"dandisets/{identifier}/versions/draft/"


def assets_url(identifier: str) -> str:
    return f"dandisets/{identifier}/versions/draft/assets/"


# -- the upload protocol ---------------------------------------------------------------------
@dataclass
class Upload:
    upload_id: str
    parts: list[dict[str, Any]]
    etag: str
    data: bytes

    def part_bytes(self, part: dict[str, Any]) -> bytes:
        offset = (part["part_number"] - 1) * PART_SIZE
        return self.data[offset : offset + part["size"]]


def initialize(
    c: httpx.Client, identifier: str, data: bytes, *, etag: str | None = None
) -> httpx.Response:
    return c.post(
        "uploads/initialize/",
        json={
            "contentSize": len(data),
            "digest": {"algorithm": ETAG, "value": etag or etag_of(data)},
            "dandiset": identifier,
        },
    )


def start_upload(
    c: httpx.Client, identifier: str, data: bytes, *, etag: str | None = None
) -> Upload:
    r = initialize(c, identifier, data, etag=etag)
    assert r.status_code == 200, r.text
    body = r.json()
    return Upload(body["upload_id"], body["parts"], etag or etag_of(data), data)


def put_part(upload: Upload, part: dict[str, Any]) -> dict[str, Any]:
    """PUT one part anonymously; checks the ETag answer is the part's md5."""
    chunk = upload.part_bytes(part)
    r = anonymous_put(part["upload_url"], chunk)
    assert r.status_code == 200, r.text
    etag = r.headers["etag"].strip('"')
    assert etag == md5_hex(chunk)
    return {"part_number": part["part_number"], "size": part["size"], "etag": etag}


def put_parts(upload: Upload) -> list[dict[str, Any]]:
    return [put_part(upload, p) for p in upload.parts]


def complete(c: httpx.Client, upload: Upload, done: list[dict[str, Any]]) -> httpx.Response:
    """Ask for the complete URL and body, then POST the body there (anonymously)."""
    r = c.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done})
    assert r.status_code == 200, r.text
    fin = r.json()
    return httpx.post(fin["complete_url"], content=fin["body"], timeout=120.0)


def validate(c: httpx.Client, upload: Upload) -> httpx.Response:
    return c.post(f"uploads/{upload.upload_id}/validate/")


def upload_blob(c: httpx.Client, identifier: str, data: bytes) -> str:
    """The whole protocol; an existing blob (409) is reused as the official client does."""
    r = initialize(c, identifier, data)
    if r.status_code == 409:
        return r.headers["location"]
    assert r.status_code == 200, r.text
    body = r.json()
    upload = Upload(body["upload_id"], body["parts"], etag_of(data), data)
    done = put_parts(upload)
    fin = complete(c, upload, done)
    assert fin.status_code == 200, fin.text
    v = validate(c, upload)
    assert v.status_code == 200, v.text
    blob_id = v.json()["blob_id"]
    assert isinstance(blob_id, str)
    return blob_id


def add_asset(
    c: httpx.Client,
    identifier: str,
    path: str,
    blob_id: str,
    metadata: dict[str, Any] | None = None,
) -> httpx.Response:
    md = {"path": path, **(metadata or {})}
    return c.post(assets_url(identifier), json={"metadata": md, "blob_id": blob_id})


def upload_asset(
    c: httpx.Client,
    identifier: str,
    path: str,
    data: bytes,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    blob_id = upload_blob(c, identifier, data)
    r = add_asset(c, identifier, path, blob_id, metadata)
    assert r.status_code == 200, r.text
    asset: dict[str, Any] = r.json()
    return asset


def all_pages(c: httpx.Client, url: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Follow ``next`` links to the end."""
    out: list[Any] = []
    r = c.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["results"])
        if not page["next"]:
            return out
        r = c.get(page["next"])
