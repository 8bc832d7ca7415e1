"""The one choice between the store's presigned URLs and neuropil's own signed ``/store/`` URLs.

Presigning happens offline, so the S3 store here points at no server at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from neuropil.config import Settings
from neuropil.core.signing import UrlSigner
from neuropil.errors import StorageError
from neuropil.services import blob_headers, blob_urls
from neuropil.services.context import Context
from neuropil.services.urls import Urls
from neuropil.storage import BlobStore, LocalBlobStore, MemoryBlobStore
from neuropil.storage.s3 import S3BlobStore, make_client

KEY = "blobs/abc/def/abcdef01-2345-6789-abcd-ef0123456789"
BASE = "http://archive.test"
ENDPOINT = "http://127.0.0.1:9"  # never contacted


def s3_store() -> S3BlobStore:
    client = make_client(
        endpoint_url=ENDPOINT,
        aws_access_key_id="key",
        aws_secret_access_key="secret",
        region_name="us-east-1",
    )
    return S3BlobStore("bucket", "archive", client=client)


def context(store: BlobStore, tmp_path: Path) -> Context:
    settings = Settings(data_dir=tmp_path)
    db: Any = None  # the URLs need no database
    return Context(settings, db, store, UrlSigner(b"s" * 32), jobs=db)


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


@pytest.fixture(params=["local", "memory"])
def own(request: pytest.FixtureRequest, tmp_path: Path) -> Context:
    store = LocalBlobStore(tmp_path / "store") if request.param == "local" else MemoryBlobStore()
    return context(store, tmp_path)


# -- stores that clients do not reach: neuropil's own URLs --------------------------------------
def test_own_part_and_complete_urls_are_signed(own: Context) -> None:
    urls = Urls(BASE, own.store)
    part = blob_urls.part_upload_url(own, urls, key=KEY, multipart_id="m1", part_number=3)
    assert part.startswith(f"{BASE}/store/{KEY}?")
    assert query(part)["partNumber"] == "3" and query(part)["uploadId"] == "m1"
    assert own.signer.verify("PUT", f"/store/{KEY}", query(part)) is None
    done = blob_urls.complete_upload_url(own, urls, key=KEY, multipart_id="m1", part_count=3)
    assert own.signer.verify("POST", f"/store/{KEY}", query(done)) is None
    assert own.signer.verify("PUT", f"/store/{KEY}", query(done)) is not None


def test_own_download_url_signs_its_response_headers(own: Context) -> None:
    urls = Urls(BASE, own.store, blob_base="http://blobs.test")
    url = blob_urls.download_url(
        own,
        urls,
        key=KEY,
        content_type="text/plain",
        disposition='inline; filename="a.txt"',
        expires_in=60,
    )
    assert url.startswith(f"http://blobs.test/store/{KEY}?")
    q = query(url)
    assert q["response-content-disposition"] == 'inline; filename="a.txt"'
    assert blob_headers.requested(own.signer, KEY, q) is None  # the /store/ read accepts it
    q["response-content-type"] = "text/html"
    assert blob_headers.requested(own.signer, KEY, q) is not None


def test_own_object_url(own: Context) -> None:
    assert Urls(BASE, own.store).object_url(KEY) == f"{BASE}/store/{KEY}"


# -- S3: the store's presigned URLs ---------------------------------------------------------------
def test_s3_part_and_complete_urls_are_presigned(tmp_path: Path) -> None:
    ctx = context(s3_store(), tmp_path)
    urls = Urls(BASE, ctx.store)
    part = blob_urls.part_upload_url(ctx, urls, key=KEY, multipart_id="m1", part_number=3)
    assert part.startswith(f"{ENDPOINT}/bucket/archive/{KEY}?")
    q = query(part)
    assert (q["partNumber"], q["uploadId"]) == ("3", "m1")
    assert q["X-Amz-Expires"] == str(ctx.settings.presign_expiry)
    done = blob_urls.complete_upload_url(ctx, urls, key=KEY, multipart_id="m1", part_count=3)
    assert done.startswith(f"{ENDPOINT}/bucket/archive/{KEY}?") and "X-Amz-Signature" in done


def test_s3_cannot_complete_zero_parts_so_neuropil_does(tmp_path: Path) -> None:
    ctx = context(s3_store(), tmp_path)
    done = blob_urls.complete_upload_url(
        ctx, Urls(BASE, ctx.store), key=KEY, multipart_id="m1", part_count=0
    )
    assert done.startswith(f"{BASE}/store/{KEY}?")
    assert ctx.signer.verify("POST", f"/store/{KEY}", query(done)) is None


def test_s3_download_url_is_a_presigned_get(tmp_path: Path) -> None:
    ctx = context(s3_store(), tmp_path)
    url = blob_urls.download_url(
        ctx,
        Urls(BASE, ctx.store),
        key=KEY,
        content_type=None,
        disposition='attachment; filename="x.nwb"',
        expires_in=3600,
    )
    q = query(url)
    assert url.startswith(f"{ENDPOINT}/bucket/archive/{KEY}?")
    assert q["response-content-disposition"] == 'attachment; filename="x.nwb"'
    assert "response-content-type" not in q and q["X-Amz-Expires"] == "3600"


def test_s3_object_url_is_unsigned(tmp_path: Path) -> None:
    store = s3_store()
    assert Urls(BASE, store).object_url(KEY) == f"{ENDPOINT}/bucket/archive/{KEY}"


def test_capabilities_are_declared() -> None:
    assert not MemoryBlobStore().capabilities.presigned_urls
    assert s3_store().capabilities.presigned_urls
    assert LocalBlobStore.capabilities.local_files
    assert MemoryBlobStore().local_path(KEY) is None
    with pytest.raises(StorageError, match="does not presign"):
        MemoryBlobStore().presign_get(KEY, 60)
