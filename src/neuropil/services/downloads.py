"""Where an asset's download goes: the one decision behind every download link.

Two faces answer a download with ``302`` to the URL decided here: the API's
``/api/assets/{id}/download/`` (readers known by their API token or a review link's
``?review=``) and the web app's ``/dandiset/{id}/{version}/files/{asset_id}/download``
(readers known by their session or a review link's cookie, so a signed-in owner's Download
button works for an embargoed file). Each face reads the asset through
:mod:`neuropil.services.assets`, which refuses readers that
:mod:`neuropil.services.visibility` refuses, and hands the record here. An embargoed blob's
URL is always signed and expiring (:func:`neuropil.services.blob_urls.download_url`).

The files of a Zarr go the same way (:func:`zarr_key`): the API's
``/api/zarr/{id}/files/?prefix=<key>&download=true`` and the web app's
``/dandiset/{id}/{version}/files/{asset_id}/zarr/{key}`` (:func:`zarr_file`) answer an
embargoed Zarr's file with a signed URL of its object: the key URL ``/zarr/<id>/<key>``
reads no session, and a redirect to it would drop a review link's ``?review=``.
"""

from __future__ import annotations

import posixpath
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import quote

from neuropil.core.links import index_link
from neuropil.core.zarr_paths import METADATA_NAMES, validate_zarr_key
from neuropil.db.models import User
from neuropil.errors import BadRequest, NotFound
from neuropil.services import blob_headers, blob_urls
from neuropil.services.assets import AssetRecord
from neuropil.services.content import NOT_DOWNLOADABLE, zarr_url
from neuropil.services.context import Context
from neuropil.services.metadata import announced_index_url
from neuropil.services.urls import Urls
from neuropil.services.zarr import reading

#: How long a download's signed URL stays valid, in seconds.
DOWNLOAD_EXPIRY = 3600
DISPOSITIONS = ("attachment", "inline")


@dataclass(frozen=True)
class Redirect:
    """Where a download goes, and the headers of the ``302`` that sends the reader there
    (the ``Link`` advertising the file's index, when it has one)."""

    location: str
    headers: dict[str, str] = field(default_factory=dict)


def ascii_fallback(name: str) -> str:
    """``filename=`` must be ASCII (HTTP headers are not UTF-8); ``filename*`` carries the
    real name, so non-ASCII characters are folded (é -> e) or replaced by ``_`` here."""
    out = []
    for ch in name:
        folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        ok = bool(folded) and all(" " <= c <= "~" and c not in '"\\' for c in folded)
        out.append(folded if ok else "_")
    return "".join(out)


def content_disposition(kind: str, path: str) -> str:
    """``Content-Disposition`` naming the file at ``path`` by its last part."""
    name = posixpath.basename(path)
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name)}"


def redirect(
    ctx: Context, urls: Urls, *, asset: AssetRecord, disposition: str | None = None
) -> Redirect:
    """Where the download of ``asset`` (read by a caller allowed to) goes.

    ``disposition`` is ``attachment`` (the default) or ``inline``; ``inline`` is a request
    that :func:`neuropil.services.blob_headers.choose` grants only to safe media types.
    Zarr assets are folders of keys, not one download (400).
    """
    content = asset.content
    if content is None or not content.downloadable or asset.blob is None:
        raise BadRequest(NOT_DOWNLOADABLE.format(zarr_id=asset.zarr_id))
    kind = disposition or "attachment"
    if kind not in DISPOSITIONS:
        raise BadRequest("content_disposition must be 'attachment' or 'inline'.")
    wanted = str(asset.metadata_.get("encodingFormat") or "") if kind == "inline" else None
    header = content_disposition(kind, asset.path)
    location = _signed_url(ctx, urls, key=asset.blob.key, wanted=wanted, disposition=header)
    index_url = announced_index_url(asset, urls)
    return Redirect(location, {"Link": index_link(index_url)} if index_url else {})


def zarr_file(
    ctx: Context, urls: Urls, *, user: User | None, asset: AssetRecord, key: str
) -> Redirect:
    """Where the file at ``key`` of a Zarr asset (read by a caller allowed to) goes: as
    :func:`zarr_key` decides. A blob asset has no files (404)."""
    zarr = asset.zarr
    if zarr is None:
        raise NotFound(f"{asset.path!r} is not a Zarr archive.")
    return zarr_key(ctx, urls, user=user, zarr_id=zarr.zarr_id, key=key)


def zarr_key(ctx: Context, urls: Urls, *, user: User | None, zarr_id: str, key: str) -> Redirect:
    """Where the file at ``key`` of the Zarr ``zarr_id`` goes, for ``user`` (the API's
    ``files/?prefix=<key>&download=true`` and the web app's route both answer with this).

    An embargoed Zarr's file goes to a signed, expiring URL of its object, so a reader known
    by a session or a review link needs no API key to follow it; metadata documents are
    served as JSON, to show in place, other files as attachments. An open Zarr's file goes
    to a presigned URL of its object when the store presigns (as on DANDI), else to its
    stable key URL (``/zarr/<id>/<key>``), which clients read the other keys from directly
    (``docs/design/zarr.md``). An invalid key (``..``, absolute) is refused (400) before any
    read; the caller passes the same check as every read of the Zarr's dandiset.
    """
    validate_zarr_key(key)
    read = reading.read_file(ctx, user=user, zarr_id=zarr_id, key=key)
    found = read.file
    if read.embargoed:
        metadata = posixpath.basename(found.key) in METADATA_NAMES
        kind = "inline" if metadata else "attachment"
        wanted = "application/json" if metadata else None
        disposition = content_disposition(kind, found.key)
        return Redirect(
            _signed_url(ctx, urls, key=found.object_key, wanted=wanted, disposition=disposition)
        )
    if ctx.store.capabilities.presigned_urls:
        return Redirect(
            blob_urls.download_url(
                ctx,
                urls,
                key=found.object_key,
                content_type=None,
                disposition=None,
                expires_in=DOWNLOAD_EXPIRY,
            )
        )
    return Redirect(zarr_url(urls, zarr_id, found.key))


def _signed_url(ctx: Context, urls: Urls, *, key: str, wanted: str | None, disposition: str) -> str:
    """A signed, expiring URL of the object ``key``, with the response headers
    :func:`neuropil.services.blob_headers.choose` grants for the ``wanted`` media type.
    Active content (HTML, SVG, ...) is never inline: see :mod:`neuropil.services.blob_headers`."""
    chosen, header = blob_headers.choose(wanted, disposition)
    return blob_urls.download_url(
        ctx,
        urls,
        key=key,
        content_type=None if chosen == blob_headers.FALLBACK_TYPE else chosen,
        disposition=header,
        expires_in=DOWNLOAD_EXPIRY,
    )


def signed_blob_url(ctx: Context, urls: Urls, *, asset: AssetRecord) -> str | None:
    """The signed URL of an embargoed asset's blob (its index's URL template), or ``None``
    when the blob has an unsigned public URL (or the asset has no blob)."""
    if asset.blob is None or not asset.embargoed:
        return None
    return blob_urls.download_url(
        ctx,
        urls,
        key=asset.blob.key,
        content_type=None,
        disposition=None,
        expires_in=DOWNLOAD_EXPIRY,
    )
