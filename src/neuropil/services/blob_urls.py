"""The signed URLs clients send blob bytes to and read them from: the store's or ours.

One question, answered here only: does a URL go to the store itself (a presigned S3 URL,
``capabilities.presigned_urls``) or to neuropil's ``/store/`` endpoints, signed by neuropil
like a presigned URL (:mod:`neuropil.services.store_endpoints` answers those)? Upload
initialize and complete, and the asset download redirect, all take their URLs from here.
The unsigned, anonymous object URL is :meth:`neuropil.services.urls.Urls.object_url`.
"""

from __future__ import annotations

from neuropil.services.blob_headers import CONTENT_TYPE_PARAM, DISPOSITION_PARAM
from neuropil.services.context import Context
from neuropil.services.urls import Urls


def _own(
    ctx: Context, urls: Urls, method: str, key: str, params: dict[str, str], expires: int
) -> str:
    query = ctx.signer.sign(method, f"/store/{key}", params, expires)
    return f"{urls.local_object(key)}?{query}"


def part_upload_url(
    ctx: Context, urls: Urls, *, key: str, multipart_id: str, part_number: int
) -> str:
    """Where a client PUTs part ``part_number`` of an upload."""
    expires = ctx.settings.presign_expiry
    if ctx.store.capabilities.presigned_urls:
        return ctx.store.presign_part(key, multipart_id, part_number, expires)
    params = {"uploadId": multipart_id, "partNumber": str(part_number)}
    return _own(ctx, urls, "PUT", key, params, expires)


def complete_upload_url(
    ctx: Context, urls: Urls, *, key: str, multipart_id: str, part_count: int
) -> str:
    """Where a client POSTs the CompleteMultipartUpload XML of an upload.

    S3 completes no upload of zero parts (an empty file): neuropil's own endpoint completes
    those, with any store.
    """
    expires = ctx.settings.presign_expiry
    if ctx.store.capabilities.presigned_urls and part_count > 0:
        return ctx.store.presign_complete(key, multipart_id, expires)
    return _own(ctx, urls, "POST", key, {"uploadId": multipart_id}, expires)


def download_url(
    ctx: Context,
    urls: Urls,
    *,
    key: str,
    content_type: str | None,
    disposition: str | None,
    expires_in: int,
) -> str:
    """A URL that reads the object with these response headers (chosen by the caller)."""
    if ctx.store.capabilities.presigned_urls:
        return ctx.store.presign_get(
            key, expires_in, disposition=disposition, content_type=content_type
        )
    params = {DISPOSITION_PARAM: disposition} if disposition else {}
    if content_type:
        params[CONTENT_TYPE_PARAM] = content_type
    return _own(ctx, urls, "GET", key, params, expires_in)
