"""The HTTP side of an asset's LINDI index (``…/assets/{id}/index/``): validators, gzip.

The routes live with the other asset routes (:mod:`neuropil.api.routes.assets`); this
module turns :func:`neuropil.services.indexes.served_index` into a response. The body
depends on the blob's index and on the blob URL this client sees, so the ETag hashes both,
and the gzip variant has its own ETag (a strong validator names exact bytes).
"""

from __future__ import annotations

import gzip

from fastapi import Request
from starlette.responses import Response

from neuropil.errors import Unsupported
from neuropil.services import indexes
from neuropil.services.assets import AssetRecord
from neuropil.services.context import Context
from neuropil.services.urls import Urls

#: Below this, gzip saves less than its header and the CPU costs more than the bytes.
MIN_GZIP = 1024
GZIP_LEVEL = 6


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*``, without ``q=0``)."""
    for item in (header or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _matches(if_none_match: str | None, tags: tuple[str, ...]) -> bool:
    if not if_none_match:
        return False
    seen = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in seen or any(tag in seen for tag in tags)


def index_response(request: Request, ctx: Context, asset: AssetRecord, urls: Urls) -> Response:
    """The asset's index as JSON with the blob's URL filled in, or 304 when unchanged."""
    if asset.blob is None:
        raise Unsupported(
            f"{asset.path} is a Zarr asset: Zarr stores have no LINDI index (they are "
            "already chunked and addressable); open the Zarr store itself."
        )
    served = indexes.served_index(
        ctx, asset.blob, blob_id=asset.blob.blob_id, blob_url=urls.object_url(asset.blob.key)
    )
    compress = accepts_gzip(request.headers.get("accept-encoding")) and (
        len(served.body) >= MIN_GZIP
    )
    identity, gzipped = f'"{served.etag}"', f'"{served.etag}-gzip"'
    headers = {
        "ETag": gzipped if compress else identity,
        "Vary": "Accept-Encoding",
        # Revalidate every time (cheap: a 304); the URL inside depends on the request.
        "Cache-Control": "no-cache",
        indexes.STATUS_HEADER: indexes.BUILT,
    }
    if _matches(request.headers.get("if-none-match"), (identity, gzipped)):
        return Response(status_code=304, headers=headers)
    body = served.body
    if compress:
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)
