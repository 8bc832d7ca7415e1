"""Reading a Zarr, live or snapshot: its file listing and one file's bytes.

Every read passes the same check as any read of the Zarr's dandiset
(:func:`neuropil.services.zarr.archives.visible_zarr`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from neuropil.core.zarr_paths import validate_zarr_key, validate_zarr_prefix
from neuropil.db.models import User
from neuropil.errors import BadRequest, NotFound
from neuropil.services.context import Context
from neuropil.services.visibility import is_embargoed
from neuropil.services.zarr import listing
from neuropil.services.zarr.archives import readable_zarr, visible_zarr
from neuropil.services.zarr.files import locate

MAX_LIMIT = 1000


def list_files(
    ctx: Context,
    *,
    user: User | None,
    zarr_id: str,
    prefix: str = "",
    after: str = "",
    limit: int = MAX_LIMIT,
) -> tuple[list[listing.ListedFile], bool]:
    """A page of files (S3 ``ListObjectsV2``-like: a plain key prefix, keys after
    ``after``) and whether more follow."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}.")
    validate_zarr_prefix(prefix)
    with ctx.db.read() as s:
        z = visible_zarr(s, user, zarr_id)
    return listing.page(ctx, z, prefix=prefix, after=after, limit=limit)


@dataclass(frozen=True)
class ReadFile:
    """A file of a Zarr read by a caller allowed to, and whether its bytes are embargoed
    (its dandiset is, ``UNEMBARGOING`` included: as an asset's ``embargoed``)."""

    file: listing.ListedFile
    embargoed: bool


def file_at(ctx: Context, *, user: User | None, zarr_id: str, key: str) -> listing.ListedFile:
    """The file at ``key`` (its object in the store), or :class:`NotFound`."""
    return read_file(ctx, user=user, zarr_id=zarr_id, key=key).file


def read_file(ctx: Context, *, user: User | None, zarr_id: str, key: str) -> ReadFile:
    """:func:`file_at`, and whether the file is embargoed."""
    with ctx.db.read() as s:
        z, dandiset = readable_zarr(s, user, zarr_id)
        embargoed = is_embargoed(dandiset)
    return ReadFile(locate(ctx, z, key), embargoed)


def present(
    ctx: Context, *, user: User | None, zarr_id: str, keys: Iterable[str]
) -> list[listing.ListedFile]:
    """The files at those of ``keys`` that the Zarr holds, in the order asked."""
    with ctx.db.read() as s:
        z = visible_zarr(s, user, zarr_id)
    found = (listing.find(ctx, z, validate_zarr_key(key)) for key in keys)
    return [f for f in found if f is not None]


def small_file(
    ctx: Context, *, user: User | None, zarr_id: str, key: str, limit: int = 64 << 10
) -> bytes | None:
    """The bytes of a small file (``.zattrs`` for a page), or ``None`` if it is absent or
    larger than ``limit``."""
    try:
        found = file_at(ctx, user=user, zarr_id=zarr_id, key=key)
    except NotFound:
        return None
    if found.size > limit:
        return None
    return b"".join(ctx.store.read(found.object_key))
