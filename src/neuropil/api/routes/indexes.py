"""The HTTP side of LINDI indexes: validators, gzip, and the ``Link`` header advertising them.

An asset's index routes (``…/assets/{id}/index/``) live with the other asset routes
(:mod:`neuropil.api.routes.assets`). Here are a blob's (``/api/blobs/{id}/index/``, what a
blob URL's ``Link`` names) and the index of the asset at a path of a version
(``…/versions/{v}/index/?path=``, so that a URL naming a file by its path opens in one
request). All turn :func:`neuropil.services.indexes.served_index` into a response. The body
depends on the blob's index and on the blob URL this client sees, so the ETag hashes both,
and the gzip variant has its own ETag (a strong validator names exact bytes).
:func:`link_headers` is the ``Link`` header of the responses about a file (its metadata, its
bytes; the download redirect's comes with it from :mod:`neuropil.services.downloads`): see
:mod:`neuropil.core.links`.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from fastapi import Request
from starlette.responses import Response

from neuropil.api import openapi
from neuropil.api.caller import CurrentUser
from neuropil.api.routing import Router
from neuropil.core.links import INDEX_MEDIA_TYPE, index_link
from neuropil.errors import BadRequest, Unsupported
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import assets, downloads, indexes, store_endpoints
from neuropil.services.assets import AssetRecord
from neuropil.services.context import Context
from neuropil.services.urls import Urls
from neuropil.storage import blob_key

router = Router(prefix="/api/blobs")
by_path = Router(prefix="/api/dandisets/{identifier}")

#: Below this, gzip saves less than its header and the CPU costs more than the bytes.
MIN_GZIP = 1024
#: Level 1: a 100 kB index compresses in a few ms to within 5 % of level 6's size, which
#: took 10-20 ms: on the one request that opens a file, the CPU is the cost that shows.
GZIP_LEVEL = 1
#: Compressed bodies kept, by ETag (the exact bytes of an index as one URL serves it):
#: a file opened again, by anyone behind the same URL, costs no compression.
GZIP_CACHE_BYTES = 32 << 20


class _Compressed:
    """A bounded LRU of gzip bodies by strong ETag (thread-safe: sync handlers run in a
    thread pool)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, etag: str, body: bytes) -> bytes:
        with self._lock:
            found = self._bodies.get(etag)
            if found is not None:
                self._bodies.move_to_end(etag)
                return found
        packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        if len(packed) <= self.capacity:
            with self._lock:
                if etag not in self._bodies:
                    self._bodies[etag] = packed
                    self._bytes += len(packed)
                while self._bytes > self.capacity:
                    _, old = self._bodies.popitem(last=False)
                    self._bytes -= len(old)
        return packed


_compressed = _Compressed(GZIP_CACHE_BYTES)


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


def index_response(
    request: Request, ctx: Context, asset: AssetRecord, urls: Urls, *, blob_url: str | None = None
) -> Response:
    """The asset's index as JSON with the blob's URL filled in (``blob_url``, by default its
    unsigned URL, or for an embargoed blob, which has none, a signed one), or 304 when
    unchanged."""
    if asset.blob is None:
        raise Unsupported(
            f"{asset.path} is a Zarr asset: Zarr stores have no LINDI index (they are "
            "already chunked and addressable); open the Zarr store itself."
        )
    served = indexes.served_index(
        ctx,
        asset.blob,
        blob_id=asset.blob.blob_id,
        blob_url=blob_url
        or downloads.signed_blob_url(ctx, urls, asset=asset)
        or urls.object_url(asset.blob.key),
    )
    return _respond(request, served)


@router.get(
    "/{blob_id}/index/",
    summary="A blob's LINDI index (.lindi.json)",
    responses=openapi.INDEX,
    description="The index of an HDF5 blob, for readers that hold only its URL: the blob "
    "URL's Link header names this endpoint. Readable when the blob is (anonymously, unless "
    "embargoed); answers as the asset index endpoints do.",
)
def get_blob_index(request: Request, blob_id: str, ctx: Ctx, urls: ExternalUrls) -> Response:
    key = blob_key(blob_id)
    blob = store_endpoints.visible_object(ctx, key)  # the rule for reading its bytes
    served = indexes.served_index(ctx, blob, blob_id=blob.blob_id, blob_url=urls.object_url(key))
    return _respond(request, served)


_BY_PATH = (
    "The index of the HDF5/NWB asset at exactly `path` in {which}, answered as "
    "`/api/assets/{{id}}/index/` answers (and named in `Content-Location`): a URL that names "
    "a file by its path opens in one request. 404 when no asset is there. neuropil extension."
)


@by_path.get(
    "/versions/{version}/index/",
    summary="The LINDI index of the asset at a path (neuropil)",
    responses=openapi.INDEX,
    description=_BY_PATH.format(which="a version"),
)
def get_index_at_path(
    request: Request, identifier: str, version: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> Response:
    return _index_at(request, ctx, user, urls, identifier, version)


@by_path.get(
    "/index/",
    summary="The LINDI index of the asset at a path, default version (neuropil)",
    responses=openapi.INDEX,
    description=_BY_PATH.format(
        which="the version a dandiset is read at by default (its most recent published "
        "version, else its draft)"
    ),
)
def get_default_index_at_path(
    request: Request, identifier: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> Response:
    return _index_at(request, ctx, user, urls, identifier, None)


def _index_at(
    request: Request,
    ctx: Context,
    user: CurrentUser,
    urls: Urls,
    identifier: str,
    version: str | None,
) -> Response:
    path = request.query_params.get("path", "").strip("/")
    if not path:
        raise BadRequest("Give the asset's path: ?path=sub-01/sub-01_ecephys.nwb")
    asset = assets.get_asset_at(ctx, user=user, identifier=identifier, version=version, path=path)
    response = index_response(request, ctx, asset, urls)
    response.headers["Content-Location"] = f"{urls.api}/assets/{asset.asset_id}/index/"
    return response


def negotiated_blob_index(
    request: Request, ctx: Context, blob: store_endpoints.ServedObject, *, blob_url: str
) -> Response | None:
    """A blob URL's answer to a reader that asked for the index in place of the bytes
    (``Accept``, :func:`neuropil.core.links.prefers_index`): the blob's index as
    ``application/vnd.lindi+json``, its URL template set to ``blob_url`` (the URL asked,
    signature included), or ``None`` when there is none (the bytes answer instead)."""
    try:
        served = indexes.served_index(ctx, blob, blob_id=blob.blob_id, blob_url=blob_url)
    except (indexes.IndexPending, indexes.NoIndex):
        return None
    response = _respond(request, served, media_type=INDEX_MEDIA_TYPE)
    response.headers["Vary"] = "Accept, Accept-Encoding"
    return response


def link_headers(index_url: str | None) -> dict[str, str]:
    """The ``Link`` header advertising a file's index, when it has one."""
    return {"Link": index_link(index_url)} if index_url else {}


def _respond(
    request: Request, served: indexes.ServedIndex, *, media_type: str = "application/json"
) -> Response:
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
        body = _compressed.get(served.etag, body)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media_type, headers=headers)
