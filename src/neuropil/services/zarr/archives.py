"""Zarr archive rows: create, list, read and delete, with DANDI's permission rules.

Reads go through the same check as every other read of a dandiset
(:func:`neuropil.services.visibility.require_readable`, and its listing form
:func:`neuropil.services.visibility.readable`); changes need an owner, and none is made
while the dandiset is being unembargoed.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.core.paths import validate_asset_path
from neuropil.db.models import (
    Asset,
    Dandiset,
    User,
    Version,
    VersionAsset,
    ZarrArchive,
    ZarrStatus,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, MethodNotAllowed, NotFound
from neuropil.services import auth, visibility
from neuropil.services.content import ZarrRecord
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.services.embargo import require_settled
from neuropil.services.versions import require_unlocked
from neuropil.services.visibility import readable
from neuropil.services.zarr.layout import live_prefix

#: DRF's unique-together message, which the official client looks for to reuse an orphan.
DUPLICATE = "The fields dandiset, name must make a unique set."
#: The job that deletes the objects of a deleted Zarr.
PURGE_JOB = "zarr.purge"


def record(z: ZarrArchive) -> ZarrRecord:
    return ZarrRecord(
        zarr_id=z.zarr_id,
        name=z.name,
        dandiset=f"{z.dandiset_id:06d}",
        status=z.status.value,
        checksum=z.checksum,
        file_count=z.file_count,
        size=z.size,
        snapshot_of=z.snapshot_of,
    )


def _parse_id(zarr_id: str) -> str:
    try:
        return str(uuid.UUID(zarr_id))
    except ValueError as exc:
        raise NotFound(f"No Zarr archive {zarr_id[:40]!r}.") from exc


def load_zarr(s: Session, zarr_id: str, *, lock: bool = False) -> tuple[ZarrArchive, Dandiset]:
    """A Zarr row and its dandiset, or :class:`NotFound`. Read in one query (every key read
    of a download asks); ``lock`` locks the Zarr's row only."""
    where = ZarrArchive.zarr_id == _parse_id(zarr_id)
    if lock:
        z = s.scalar(sa.select(ZarrArchive).where(where).with_for_update())
        dandiset = s.get(Dandiset, z.dandiset_id) if z is not None else None
    else:
        row = s.execute(
            sa.select(ZarrArchive, Dandiset)
            .join(Dandiset, Dandiset.id == ZarrArchive.dandiset_id)
            .where(where)
        ).first()
        z, dandiset = row if row is not None else (None, None)
    if z is None or dandiset is None:
        raise NotFound(f"No Zarr archive {zarr_id!r}.")
    return z, dandiset


def visible_zarr(s: Session, user: User | None, zarr_id: str) -> ZarrArchive:
    """A Zarr the caller may read (anonymous 401 and others 403 for embargoed ones)."""
    return readable_zarr(s, user, zarr_id)[0]


def readable_zarr(s: Session, user: User | None, zarr_id: str) -> tuple[ZarrArchive, Dandiset]:
    """:func:`visible_zarr`, and the Zarr's dandiset (read in the same query)."""
    z, dandiset = load_zarr(s, zarr_id)
    visibility.require_readable(s, user, dandiset)
    return z, dandiset


def writable_zarr(s: Session, user: User | None, zarr_id: str) -> ZarrArchive:
    """A live Zarr the caller owns, locked for this transaction, whose dandiset's draft is
    not being published."""
    z, dandiset = load_zarr(s, zarr_id, lock=True)
    visibility.require_readable(s, user, dandiset)
    auth.require_owner(user, dandiset)
    require_settled(dandiset)
    if z.snapshot_of is not None:
        raise MethodNotAllowed("This Zarr archive is a published snapshot; it cannot change.")
    draft = s.scalar(
        sa.select(Version).where(Version.dandiset_id == dandiset.id, Version.version == DRAFT)
    )
    if draft is not None:
        require_unlocked(draft)
    return z


def zarr_for_asset(s: Session, dandiset_id: int, zarr_id: str) -> ZarrArchive:
    """The live Zarr a new asset of this dandiset's draft points to."""
    try:
        z, _ = load_zarr(s, zarr_id)
    except NotFound as exc:
        raise NotFound(f"No Zarr archive {zarr_id!r}.") from exc
    if z.snapshot_of is not None:
        raise BadRequest("A published Zarr snapshot cannot be added to a draft.")
    if z.dandiset_id != dandiset_id:
        raise BadRequest(
            f"The Zarr archive {zarr_id} belongs to dandiset {z.dandiset_id:06d}, not to this one."
        )
    return z


def _parse_create(body: object) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object {'name': <asset path>, 'dandiset': <identifier>}.")
    name, dandiset = body.get("name"), body.get("dandiset")
    if not isinstance(dandiset, str) or not dandiset:
        raise BadRequest("'dandiset' must be a dandiset identifier such as '000123'.")
    return validate_asset_path(name), dandiset


def create_zarr(ctx: Context, *, user: User | None, body: object) -> ZarrRecord:
    """A new, empty, Pending Zarr in a dandiset the caller owns."""
    name, identifier = _parse_create(body)
    auth.require_approved(user)
    try:
        with ctx.db.write() as s:
            dandiset = get_dandiset_row(s, identifier)
            visibility.require_readable(s, user, dandiset)
            auth.require_owner(user, dandiset)
            require_settled(dandiset)
            taken = s.scalar(
                sa.select(ZarrArchive.zarr_id).where(
                    ZarrArchive.dandiset_id == dandiset.id,
                    ZarrArchive.name == name,
                    ZarrArchive.snapshot_of.is_(None),
                )
            )
            if taken is not None:
                raise BadRequest(DUPLICATE)
            now = utcnow()
            z = ZarrArchive(
                zarr_id=str(uuid.uuid4()),
                dandiset_id=dandiset.id,
                name=name,
                status=ZarrStatus.PENDING,
                file_count=0,
                size=0,
                created=now,
                modified=now,
            )
            s.add(z)
            s.flush()
            return record(z)
    except IntegrityError as exc:  # a concurrent create of the same name won
        raise BadRequest(DUPLICATE) from exc


def list_zarrs(
    ctx: Context,
    *,
    user: User | None,
    dandiset: str | None,
    name: str | None,
    offset: int,
    limit: int,
) -> tuple[int, list[ZarrRecord]]:
    """Live Zarrs of visible dandisets, oldest first, optionally of one dandiset/name."""
    q: sa.Select[Any] = (
        sa.select(ZarrArchive)
        .join(Dandiset, Dandiset.id == ZarrArchive.dandiset_id)
        .where(ZarrArchive.snapshot_of.is_(None), readable(user))
    )
    with ctx.db.read() as s:
        if dandiset:
            q = q.where(ZarrArchive.dandiset_id == get_dandiset_row(s, dandiset).id)
        if name:
            q = q.where(ZarrArchive.name == name)
        total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(
            q.order_by(ZarrArchive.created, ZarrArchive.zarr_id).offset(offset).limit(limit)
        ).all()
        return total, [record(z) for z in rows]


def get_zarr(ctx: Context, *, user: User | None, zarr_id: str) -> ZarrRecord:
    with ctx.db.read() as s:
        return record(visible_zarr(s, user, zarr_id))


def delete_zarr(ctx: Context, *, user: User | None, zarr_id: str) -> None:
    """Delete a live Zarr no asset uses; its objects go in a background job."""
    with ctx.db.write() as s:
        z = writable_zarr(s, user, zarr_id)
        used = s.scalar(
            sa.select(Asset.path)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(Asset.zarr_id == z.zarr_id)
            .limit(1)
        )
        if used is not None:
            raise BadRequest(
                f"The Zarr archive is the content of the asset {used!r}; delete the asset first."
            )
        s.delete(z)
        ctx.jobs.enqueue(s, PURGE_JOB, {"zarr_id": z.zarr_id}, dedup_key=f"{PURGE_JOB}:{zarr_id}")


def purge(ctx: Context, zarr_id: str) -> int:
    """The ``zarr.purge`` job: delete the objects of a deleted Zarr; returns how many.

    Snapshot copies (``zarr-snapshots/``) stay: published versions read them."""
    with ctx.db.read() as s:
        if s.get(ZarrArchive, zarr_id) is not None:
            return 0  # not deleted after all (the delete was rolled back)
    removed = 0
    for info in list(ctx.store.list(live_prefix(zarr_id))):
        ctx.store.delete(info.key)
        removed += 1
    return removed
