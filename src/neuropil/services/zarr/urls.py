"""The URLs clients send Zarr files to and read them from: the store's, or neuropil's.

The same question :mod:`neuropil.services.blob_urls` answers for blobs: a store that
presigns (``capabilities.presigned_urls``, S3) gets the bytes directly; otherwise neuropil
serves them, a PUT at ``/store/zarr/<id>/<key>`` signed like a presigned URL and reads at the
stable key URL ``/zarr/<id>/<key>``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from neuropil.core.zarr_checksum import md5_to_base64
from neuropil.services.content import zarr_url
from neuropil.services.context import Context
from neuropil.services.urls import Urls
from neuropil.services.zarr.listing import ListedFile

#: The signed query parameter carrying the md5 a PUT must have (base64, as Content-MD5).
MD5_PARAM = "X-Np-Content-MD5"
#: Download redirects stay valid this long.
DOWNLOAD_EXPIRY = 3600


@runtime_checkable
class PresignsPut(Protocol):
    """A store capability: presigned single-object PUT URLs that require ``Content-MD5``."""

    def presign_put(self, key: str, expires_in: int, *, content_md5: str) -> str: ...


def upload_url(ctx: Context, urls: Urls, object_key: str, md5: str) -> str:
    """Where a client PUTs one Zarr file whose bytes have this md5 (hex)."""
    b64 = md5_to_base64(md5)
    expiry = ctx.settings.presign_expiry
    store = ctx.store
    if store.capabilities.presigned_urls and isinstance(store, PresignsPut):
        return store.presign_put(object_key, expiry, content_md5=b64)
    query = ctx.signer.sign("PUT", f"/store/{object_key}", {MD5_PARAM: b64}, expiry)
    return f"{urls.local_object(object_key)}?{query}"


def file_download_url(ctx: Context, urls: Urls, zarr_id: str, found: ListedFile) -> str:
    """Where ``?download=true`` redirects for one file."""
    if ctx.store.capabilities.presigned_urls:
        return ctx.store.presign_get(found.object_key, DOWNLOAD_EXPIRY)
    return zarr_url(urls, zarr_id, found.key)
