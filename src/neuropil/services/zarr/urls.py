"""The URLs clients send Zarr files to: the store's, or neuropil's.

The same question :mod:`neuropil.services.blob_urls` answers for blobs: a store that
presigns (``capabilities.presigned_urls``, S3) gets the bytes directly; otherwise neuropil
takes them, a PUT at ``/store/zarr/<id>/<key>`` signed like a presigned URL. Where a file's
download goes is :func:`neuropil.services.downloads.zarr_key`'s decision.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from neuropil.core.zarr_checksum import md5_to_base64
from neuropil.services.context import Context
from neuropil.services.urls import Urls

#: The signed query parameter carrying the md5 a PUT must have (base64, as Content-MD5).
MD5_PARAM = "X-Np-Content-MD5"


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
