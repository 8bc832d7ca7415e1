"""Blobs: lookup by digest and the background sha256 (which hands the blob's assets to
validation and queues the blob's index build, in the same transaction)."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from neuropil.core.digests import (
    ETAG_ALGORITHM,
    SHA256_ALGORITHM,
    EtagHasher,
    parse_etag,
    parse_sha256,
)
from neuropil.db.models import AssetBlob, User
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, NotFound
from neuropil.jobs.worker import PermanentJobError
from neuropil.services import visibility
from neuropil.services.context import Context
from neuropil.services.indexes import request_index
from neuropil.services.validity import request_asset_validation

log = logging.getLogger(__name__)


def blob_by_digest(ctx: Context, *, user: User | None, body: object) -> AssetBlob:
    """The blob with a digest; an embargoed blob only for callers who may see it (others
    get the 404 of a missing blob, as for every embargoed object)."""
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object {'algorithm': ..., 'value': ...}.")
    algorithm, value = body.get("algorithm"), body.get("value")
    with ctx.db.read() as s:
        if algorithm == ETAG_ALGORITHM:
            blob = s.scalar(sa.select(AssetBlob).where(AssetBlob.etag == parse_etag(value)))
        elif algorithm == SHA256_ALGORITHM:
            blob = s.scalar(sa.select(AssetBlob).where(AssetBlob.sha256 == parse_sha256(value)))
        else:
            raise BadRequest(
                f"Unsupported algorithm {algorithm!r}; "
                f"use {ETAG_ALGORITHM!r} or {SHA256_ALGORITHM!r}."
            )
        if blob is None or not visibility.blob_readable(s, user, blob):
            raise NotFound("Not found.")
    return blob


def compute_sha256(ctx: Context, blob_id: str) -> None:
    """Hash a blob's bytes; the dandi-etag is re-checked on the way (bit rot, bad disks)."""
    with ctx.db.read() as s:
        blob = s.get(AssetBlob, blob_id)
    if blob is None:
        raise PermanentJobError(f"blob {blob_id} no longer exists")
    if blob.sha256:
        with ctx.db.write() as s:  # a retry after the hash committed: validation may be owed
            request_asset_validation(ctx, s, blob_id)
            request_index(ctx, s, blob_id)
        return
    hasher = EtagHasher(blob.size, sha256=True)
    try:
        for chunk in ctx.store.read(blob.key):
            hasher.update(chunk)
    except KeyError as exc:
        raise PermanentJobError(f"the bytes of blob {blob_id} are missing") from exc
    if hasher.etag() != blob.etag:
        raise PermanentJobError(
            f"blob {blob_id} is corrupt: its bytes give etag {hasher.etag()}, not {blob.etag}"
        )
    with ctx.db.write() as s:
        s.execute(
            sa.update(AssetBlob)
            .where(AssetBlob.blob_id == blob_id)
            .values(sha256=hasher.sha256(), modified=utcnow())
        )
        request_asset_validation(ctx, s, blob_id)
        # Indexed only now: the bytes were just checked against the dandi-etag.
        request_index(ctx, s, blob_id)
