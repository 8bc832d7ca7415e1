"""Assets of a version: list, read, create, replace, delete, and the folder browser."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from neuropil.core.ids import DRAFT
from neuropil.core.paths import normalize_path, validate_asset_path
from neuropil.db.engine import Reader, connection_of
from neuropil.db.models import (
    Asset,
    AssetBlob,
    AssetPath,
    Dandiset,
    EmbargoStatus,
    User,
    Version,
    VersionAsset,
    ZarrArchive,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, MethodNotAllowed, NotFound
from neuropil.services import auth, embargo_tags, records, visibility
from neuropil.services.content import BlobContent, Content, ZarrContent, ZarrRecord, content_of
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.services.embargo import require_settled
from neuropil.services.metadata import strip_asset_metadata
from neuropil.services.metadata_limits import check_metadata
from neuropil.services.tree import add_to_tree, remove_from_tree
from neuropil.services.validity import validate_new_asset
from neuropil.services.versions import (
    get_version_row,
    mark_draft_changed,
    read_version,
    read_version_rows,
    read_version_with,
    require_unlocked,
)
from neuropil.services.zarr.archives import zarr_for_asset


@dataclass(frozen=True)
class BlobRecord:
    blob_id: str
    key: str
    etag: str
    sha256: str | None
    size: int


@dataclass(frozen=True)
class AssetRecord:
    """An asset as the API shows it, read without ORM overhead (listings are hot)."""

    id: int
    asset_id: str
    path: str
    blob: BlobRecord | None
    zarr_id: str | None
    created: datetime
    modified: datetime
    metadata_: dict[str, Any]
    zarr: ZarrRecord | None = None
    #: Its bytes are embargoed (a blob uploaded for an embargoed dandiset and not yet
    #: released; a Zarr of an embargoed dandiset), until the end of the embargo of the
    #: dandiset that holds it.
    embargoed: bool = False
    embargoed_until: date | None = None

    @property
    def content(self) -> Content | None:
        """What the asset's bytes are (:mod:`neuropil.services.content`)."""
        return content_of(self.blob, self.zarr)

    @property
    def size(self) -> int:
        content = self.content
        return content.size if content else 0

    @property
    def blob_id(self) -> str | None:
        return self.blob.blob_id if self.blob else None


# The subqueries below read dandisets, versions and memberships of their own (aliases),
# so that they stay the same where a statement also reads a dandiset and its version
# (a path lookup: :data:`_AT_PATH`).
_OF_ZARR = aliased(Dandiset)
_HOLDER, _HOLDER_VERSION, _HOLDER_MEMBER = (
    aliased(Dandiset),
    aliased(Version),
    aliased(VersionAsset),
)
#: Whether an asset's bytes are embargoed: its blob says so; a Zarr is embargoed with its
#: dandiset (as on DANDI).
_EMBARGOED = sa.case(
    (AssetBlob.blob_id.is_not(None), AssetBlob.embargoed),
    (
        ZarrArchive.zarr_id.is_not(None),
        sa.select(_OF_ZARR.id)
        .where(
            _OF_ZARR.id == ZarrArchive.dandiset_id,
            _OF_ZARR.embargo_status != EmbargoStatus.OPEN,
        )
        .correlate(ZarrArchive)
        .exists(),
    ),
    else_=sa.false(),
)
#: The earliest end of embargo of the dandisets holding an asset (one, in practice).
_EMBARGOED_UNTIL = (
    sa.select(sa.func.min(_HOLDER.embargo_end_date))
    .join(_HOLDER_VERSION, _HOLDER_VERSION.dandiset_id == _HOLDER.id)
    .join(_HOLDER_MEMBER, _HOLDER_MEMBER.version_id == _HOLDER_VERSION.id)
    .where(_HOLDER_MEMBER.asset_id == Asset.id, _HOLDER.embargo_status != EmbargoStatus.OPEN)
    .correlate(Asset)
    .scalar_subquery()
)

_COLUMNS = (
    Asset.id,
    Asset.asset_id,
    Asset.path,
    Asset.zarr_id,
    Asset.created,
    Asset.modified,
    AssetBlob.blob_id,
    AssetBlob.key,
    AssetBlob.etag,
    AssetBlob.sha256,
    AssetBlob.size,
    ZarrArchive.zarr_id,
    ZarrArchive.name,
    ZarrArchive.dandiset_id,
    ZarrArchive.status,
    ZarrArchive.checksum,
    ZarrArchive.file_count,
    ZarrArchive.size,
    ZarrArchive.snapshot_of,
    _EMBARGOED.label("embargoed"),
    # Only for embargoed content (CASE evaluates the subquery for those rows alone).
    sa.case((_EMBARGOED, _EMBARGOED_UNTIL), else_=None).label("embargoed_until"),
)
_METADATA = len(_COLUMNS)
_EMBARGO = _METADATA - 2


def _zarr_record(cols: Any) -> ZarrRecord | None:
    zarr_id, name, dandiset_pk, status, checksum, files, size, snapshot_of = cols
    if zarr_id is None:
        return None
    return ZarrRecord(
        zarr_id, name, f"{dandiset_pk:06d}", status.value, checksum, files, size, snapshot_of
    )


def _record(row: Any, metadata: dict[str, Any] | None) -> AssetRecord:
    # Unpacked by position (the order of _COLUMNS): a page of 1,000 rows builds in about
    # half the time that attribute access by name takes.
    pk, asset_id, path, zarr_id, created, modified, blob_id, key, etag, sha256, size = row[:11]
    blob = BlobRecord(blob_id, key, etag, sha256, size) if blob_id is not None else None
    zarr = _zarr_record(row[11:_EMBARGO]) if zarr_id is not None else None
    embargoed, until = bool(row[_EMBARGO]), row[_EMBARGO + 1]
    return AssetRecord(
        pk, asset_id, path, blob, zarr_id, created, modified, metadata or {}, zarr, embargoed, until
    )


def _select(with_metadata: bool) -> sa.Select[Any]:
    cols: list[Any] = list(_COLUMNS)
    if with_metadata:
        cols.append(Asset.metadata_)
    return (
        sa.select(*cols)
        .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
        .outerjoin(ZarrArchive, ZarrArchive.zarr_id == Asset.zarr_id)
    )


def _records(
    s: Reader, q: sa.Select[Any], with_metadata: bool, params: dict[str, Any] | None = None
) -> list[AssetRecord]:
    # On the session's connection: rows of columns, not entities, need none of the ORM's
    # result set-up (half the CPU of a one-row statement through ``Session.execute``).
    rows = connection_of(s).execute(q, params)
    return [_record(r, r[_METADATA] if with_metadata else None) for r in rows]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


ORDERS = {"created", "modified", "path"}


def _resolve(
    s: Session, user: User | None, identifier: str, version: str, *, lock: bool = False
) -> tuple[Dandiset, Version]:
    if not lock:  # a read: detached rows from prebuilt statements (services/records.py)
        return read_version(s, user, identifier, version)
    dandiset = get_dandiset_row(s, identifier, lock=lock)
    visibility.require_readable(s, user, dandiset)
    return dandiset, get_version_row(s, dandiset, version, lock=lock)


def list_assets(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    path: str | None = None,
    glob: str | None = None,
    order: str | None = None,
    with_metadata: bool = False,
    offset: int = 0,
    limit: int = 100,
    count: bool = True,
    zarr_only: bool = False,
) -> tuple[int | None, list[AssetRecord], bool]:
    """A page of a version's assets: (total if ``count``, page, whether more follow)."""
    key = (order or "created").lstrip("-")
    if key not in ORDERS:
        raise BadRequest(
            f"Unknown order {order!r}; use created, modified or path, optionally with '-'."
        )
    if path is not None and glob is not None:
        raise BadRequest("Use either 'path' or 'glob', not both.")
    path = normalize_path(path) if path else path
    glob = normalize_path(glob) if glob else glob
    desc = (order or "").startswith("-")
    lookup = bool(path) and not zarr_only and not glob and offset == 0
    if not (path or glob or zarr_only):  # all of the version's assets
        with ctx.db.rows() as s:
            read = read_version_rows(
                s,
                user,
                identifier,
                version,
                _version_page(key, desc, with_metadata),
                {"offset": offset, "limit": limit + 1},
            )
        members = int(read.values[0] or 0) if count else None
        page = [_record(r, r[_METADATA] if with_metadata else None) for r in read.rows]
        return members, page[:limit], len(page) > limit
    more, extra = _VERSION_KEY, None
    if lookup:
        # A path lookup (the official client asks one per file): the asset at exactly
        # that path, read with the version. Only when there is none does the way below
        # look for it again and list the paths under the prefix instead.
        more, extra = _AT_PATH[with_metadata], {"path": path}
    with ctx.db.rows() as s:
        _, ver, values = read_version_with(s, user, identifier, version, more, extra)
        if lookup and values[0] is not None:
            found = [_record(values, values[_METADATA] if with_metadata else None)]
            return (1 if count else None), found[:limit], len(found) > limit
        params: dict[str, Any] = {"version_id": ver.id, "offset": offset, "limit": limit + 1}
        filters: list[str] = ["zarr"] if zarr_only else []
        if path:
            exact = s.scalar(_EXACT, {"version_id": ver.id, "path": path})
            if exact is not None:
                filters.append("exact")
                params["exact"] = exact
            else:
                filters.append("range")
                params.update(_range_params(path.lower()))
        if glob:
            low = glob.lower()
            filters.append("like")
            params["pattern"] = _like_escape(low).replace("*", "%")
            # LIKE cannot use the binary-collated index; the literal part before the first
            # wildcard can, as a range (``sub-0042/*`` then reads 50 entries, not 100,000).
            prefix = low.split("*", 1)[0]
            if prefix:
                filters.append("range")
                params.update(_range_params(prefix))
        count_q, page_q = _listing(tuple(filters), key, desc, with_metadata)
        if not count:
            total = None
        elif filters == ["exact"]:  # the one member at that path
            total = 1
        else:
            total = s.scalar(count_q, params) or 0
        page = _records(s, page_q, with_metadata, params)
    return total, page[:limit], len(page) > limit


#: The version of a listing: its key alone (:data:`records.VERSION_KEY`).
_VERSION_KEY = records.VersionColumns(version_fields=records.VERSION_KEY)


def _at_path(version: sa.Join) -> sa.Join:
    """The version's asset at the bound ``path``, if any, with its blob or Zarr."""
    at_path = sa.and_(
        VersionAsset.version_id == Version.id, VersionAsset.path == sa.bindparam("path")
    )
    return (
        version.outerjoin(VersionAsset, at_path)
        .outerjoin(Asset, Asset.id == VersionAsset.asset_id)
        .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
        .outerjoin(ZarrArchive, ZarrArchive.zarr_id == Asset.zarr_id)
    )


#: A path lookup's asset (the columns of :func:`_select`), read with the version: by
#: whether the metadata is included.
_AT_PATH = {
    with_metadata: records.VersionColumns(
        *_COLUMNS,
        *([Asset.metadata_] if with_metadata else []),
        joins=_at_path,
        version_fields=records.VERSION_KEY,
    )
    for with_metadata in (False, True)
}

_EXACT = sa.select(VersionAsset.asset_id).where(
    VersionAsset.version_id == sa.bindparam("version_id"),
    VersionAsset.path == sa.bindparam("path"),
)


def _range_params(low: str) -> dict[str, str]:
    return {"low": low, "high": low + "\U0010ffff"}


def _members(filters: tuple[str, ...], version_id: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The members of a listing: of the version ``version_id``, those ``filters`` keep."""
    members = sa.select(VersionAsset.asset_id).where(VersionAsset.version_id == version_id)
    if "zarr" in filters:
        zarrs = sa.select(Asset.id).where(Asset.zarr_id.is_not(None))
        members = members.where(VersionAsset.asset_id.in_(zarrs))
    if "exact" in filters:
        members = members.where(VersionAsset.asset_id == sa.bindparam("exact"))
    if "at_path" in filters:
        members = members.where(VersionAsset.path == sa.bindparam("path"))
    if "like" in filters:
        members = members.where(VersionAsset.path_lower.like(sa.bindparam("pattern"), escape="\\"))
    if "range" in filters:
        members = members.where(
            VersionAsset.path_lower >= sa.bindparam("low"),
            VersionAsset.path_lower < sa.bindparam("high"),
        )
    return members


def _page(
    members: sa.Select[Any], key: str, desc: bool, with_metadata: bool
) -> tuple[sa.Select[Any], sa.ColumnElement[Any]]:
    """The page of ``members`` (bound ``offset`` and ``limit``) with its assets' columns,
    unordered, and the key that orders it (then ``Asset.id``)."""
    col: Any = {
        "created": VersionAsset.asset_id,
        "modified": Asset.modified,
        "path": VersionAsset.path,
    }[key]
    if key == "modified":  # not indexed: needs the assets (rare; the cost stays)
        members = members.join(Asset, Asset.id == VersionAsset.asset_id)
    page_ids = (
        members.add_columns(col.label("sort_key"))
        .order_by(col.desc() if desc else col.asc(), VersionAsset.asset_id)
        .offset(sa.bindparam("offset"))
        .limit(sa.bindparam("limit"))
        .subquery("page")
    )
    page_q = _select(with_metadata).join(page_ids, page_ids.c.asset_id == Asset.id)
    return page_q, page_ids.c.sort_key


@functools.lru_cache(maxsize=128)
def _listing(
    filters: tuple[str, ...], key: str, desc: bool, with_metadata: bool
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The count and page statements of one shape of listing, built once per shape (the
    values are bound parameters: ``version_id``, ``exact``, ``path``, ``low``/``high``, ``pattern``,
    ``offset``, ``limit``): building them took more CPU than SQLite takes to run them."""
    # Filter, count and page on ``version_assets`` alone, whose indexes cover the
    # version, path, path_lower and asset id; assets and blobs are joined only for the
    # rows of the page. Joining first made COUNT and OFFSET visit every skipped asset
    # and blob: ~150-400 ms per page of 1,000 at 100,000 assets on SQLite, not ~10.
    members = _members(filters, sa.bindparam("version_id"))
    count_q = sa.select(sa.func.count()).select_from(members.subquery())
    page_q, sort_key = _page(members, key, desc, with_metadata)
    page_q = page_q.order_by(sort_key.desc() if desc else sort_key.asc(), Asset.id)
    return count_q, page_q


@functools.lru_cache(maxsize=16)
def _version_page(key: str, desc: bool, with_metadata: bool) -> records.VersionRows:
    """A page of all of a version's assets, read with the dandiset, the version and its
    asset count (its tree root's) in one statement: the version's statement cost a page
    of 20 with metadata about a tenth of its CPU, and PostgreSQL a round trip."""
    page_q, sort_key = _page(_members((), records.NAMED_VERSION_ID), key, desc, with_metadata)
    page = page_q.add_columns(sort_key.label("page_sort_key")).subquery("page_rows")
    order = page.c.page_sort_key.desc() if desc else page.c.page_sort_key.asc()
    return records.VersionRows(
        page, [order, page.c.id], records.ROOT_FILES_COLUMN, joins=records.with_root
    )


def _asset_query(with_metadata: bool = True) -> sa.Select[Any]:
    return _select(with_metadata)


def get_asset(
    ctx: Context, *, user: User | None, identifier: str, version: str, asset_id: str
) -> AssetRecord:
    with ctx.db.read() as s:
        _, ver = _resolve(s, user, identifier, version)
        rows = _records(
            s,
            _asset_query()
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(VersionAsset.version_id == ver.id, Asset.asset_id == asset_id),
            True,
        )
    if not rows:
        raise NotFound("Not found.")
    return rows[0]


def get_asset_by_id(ctx: Context, *, user: User | None, asset_id: str) -> AssetRecord:
    """An asset by its id alone (``/api/assets/{id}/``)."""
    with ctx.db.read() as s:
        rows = _records(s, _asset_query().where(Asset.asset_id == asset_id), True)
        if not rows:
            raise NotFound("Not found.")
        dandisets = s.scalars(
            sa.select(Dandiset)
            .join(Version, Version.dandiset_id == Dandiset.id)
            .join(VersionAsset, VersionAsset.version_id == Version.id)
            .where(VersionAsset.asset_id == rows[0].id)
        ).all()
        # Readable through any dandiset that holds it (an orphan asset stays readable).
        if dandisets and not any(visibility.can_read(s, user, d) for d in dandisets):
            visibility.require_readable(s, user, dandisets[0])
    return rows[0]


def get_asset_at(
    ctx: Context, *, user: User | None, identifier: str, version: str | None, path: str
) -> AssetRecord:
    """The asset at exactly ``path`` in a version; ``version`` None means the version a
    dandiset is read at by default (its most recent published one, else its draft)."""
    path = normalize_path(path)
    with ctx.db.read() as s:
        dandiset, ver = _resolve(s, user, identifier, version or DRAFT)
        if version is None:
            newest = [
                h.version
                for h in records.head_versions(s, [dandiset.id])
                if h.version.version != DRAFT
            ]
            ver = newest[0] if newest else ver
        found = s.scalar(_EXACT, {"version_id": ver.id, "path": path})
        rows = _records(s, _asset_query().where(Asset.id == found), True) if found else []
    if not rows:
        raise NotFound(f"No asset at {path!r} in {identifier}/{ver.version}.")
    return rows[0]


def _parse_body(metadata: object, blob_id: object, zarr_id: object) -> tuple[dict[str, Any], str]:
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object holding at least 'path'.")
    check_metadata(metadata)
    if (blob_id is None) == (zarr_id is None):
        raise BadRequest("Give exactly one of 'blob_id' and 'zarr_id'.")
    if not isinstance(blob_id if zarr_id is None else zarr_id, str):
        raise BadRequest(f"'{'blob_id' if zarr_id is None else 'zarr_id'}' must be a string.")
    if "path" not in metadata:
        raise BadRequest("'metadata' must contain the asset 'path'.")
    return metadata, validate_asset_path(metadata["path"])


@dataclass(frozen=True)
class _NewContent:
    """The blob or Zarr row a new asset points to."""

    blob: AssetBlob | None
    zarr: ZarrArchive | None

    @property
    def content(self) -> Content:
        if self.blob is not None:
            return BlobContent(self.blob)
        assert self.zarr is not None
        return ZarrContent(self.zarr)


def _load_content(
    s: Session, user: User | None, ver: Version, blob_id: object, zarr_id: object
) -> _NewContent:
    if zarr_id is not None:
        return _NewContent(None, zarr_for_asset(s, ver.dandiset_id, str(zarr_id)))
    return _NewContent(_load_blob(s, user, str(blob_id)), None)


def _load_blob(s: Session, user: User | None, blob_id: str) -> AssetBlob:
    """The blob an asset is to point at; an embargoed blob the caller may not use is "not
    found", exactly like a missing one (its existence is not revealed)."""
    try:
        uuid.UUID(blob_id)
    except ValueError as exc:
        raise NotFound(f"No blob {blob_id!r}.") from exc
    # FOR SHARE on PostgreSQL: the sha256 job's UPDATE of this row waits for us (or we for
    # it), so either we see the sha256 and validate now, or its validation job sees us.
    blob = s.get(AssetBlob, blob_id, with_for_update={"read": True})
    if blob is None or not visibility.blob_readable(s, user, blob):
        raise NotFound(f"No blob {blob_id!r}.")
    return blob


def _writable_draft(s: Session, user: User | None, identifier: str, version: str) -> Version:
    dandiset, ver = _resolve(s, user, identifier, version, lock=True)
    auth.require_owner(user, dandiset)
    if ver.version != DRAFT:
        raise MethodNotAllowed("Published versions cannot be modified.")
    require_unlocked(ver)
    require_settled(dandiset)
    return ver


def _attach(ctx: Context, s: Session, ver: Version, asset: Asset, content: Content) -> None:
    if asset.blob is not None and asset.blob.embargoed:
        dandiset = s.get(Dandiset, ver.dandiset_id)
        if dandiset is not None and not visibility.is_embargoed(dandiset):
            # An open dandiset publishes the bytes: the blob is embargoed no more (as on
            # DANDI); only a caller who may use the blob gets this far (_load_blob). Its
            # object's tag goes once this commits.
            asset.blob.embargoed = False
            asset.blob.modified = utcnow()
            embargo_tags.queue_release(ctx, s, asset.blob)
    add_to_tree(s, version_id=ver.id, path=asset.path, asset_pk=asset.id, size=content.size)
    s.add(
        VersionAsset(
            version_id=ver.id, asset_id=asset.id, path=asset.path, path_lower=asset.path.lower()
        )
    )


def _detach(s: Session, ver: Version, asset: Asset) -> None:
    # The size the tree holds for it (a Zarr's changes with each ingest).
    size = s.scalar(
        sa.select(AssetPath.aggregate_size).where(
            AssetPath.version_id == ver.id, AssetPath.path == asset.path
        )
    )
    size = size or 0
    remove_from_tree(s, version_id=ver.id, path=asset.path, size=size)
    s.execute(
        sa.delete(VersionAsset).where(
            VersionAsset.version_id == ver.id, VersionAsset.asset_id == asset.id
        )
    )


def _new_asset(
    ctx: Context, s: Session, path: str, new: _NewContent, metadata: dict[str, Any]
) -> Asset:
    """A new asset row, already validated when its content is ready (a blob's sha256 or
    a Zarr's checksum is known)."""
    now = utcnow()
    asset = Asset(
        asset_id=str(uuid.uuid4()),
        path=path,
        blob_id=new.blob.blob_id if new.blob else None,
        zarr_id=new.zarr.zarr_id if new.zarr else None,
        metadata_=strip_asset_metadata(metadata),
        created=now,
        modified=now,
    )
    asset.blob = new.blob
    asset.zarr = new.zarr
    validate_new_asset(ctx, asset, new.content)
    s.add(asset)
    s.flush()
    return asset


def _fetch(s: Session, asset_pk: int) -> AssetRecord:
    return _records(s, _asset_query().where(Asset.id == asset_pk), True)[0]


def create_asset(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    metadata: object,
    blob_id: object = None,
    zarr_id: object = None,
) -> AssetRecord:
    md, path = _parse_body(metadata, blob_id, zarr_id)
    with ctx.db.write() as s:
        ver = _writable_draft(s, user, identifier, version)
        new = _load_content(s, user, ver, blob_id, zarr_id)
        asset = _new_asset(ctx, s, path, new, md)
        _attach(ctx, s, ver, asset, new.content)
        mark_draft_changed(ctx, s, ver)
        s.flush()
        return _fetch(s, asset.id)


def _in_version(s: Session, ver: Version, asset_id: str) -> Asset:
    asset = s.scalar(
        sa.select(Asset)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .where(VersionAsset.version_id == ver.id, Asset.asset_id == asset_id)
    )
    if asset is None:
        raise NotFound("Not found.")
    return asset


def update_asset(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    asset_id: str,
    metadata: object,
    blob_id: object = None,
    zarr_id: object = None,
) -> AssetRecord:
    """Replace an asset: unchanged input returns it as is, any change makes a new asset id."""
    md, path = _parse_body(metadata, blob_id, zarr_id)
    with ctx.db.write() as s:
        ver = _writable_draft(s, user, identifier, version)
        old = _in_version(s, ver, asset_id)
        new = _load_content(s, user, ver, blob_id, zarr_id)
        if (
            old.blob_id == (new.blob.blob_id if new.blob else None)
            and old.zarr_id == (new.zarr.zarr_id if new.zarr else None)
            and old.path == path
            and strip_asset_metadata(old.metadata_) == strip_asset_metadata(md)
        ):
            return _fetch(s, old.id)
        _detach(s, ver, old)
        asset = _new_asset(ctx, s, path, new, md)
        _attach(ctx, s, ver, asset, new.content)
        mark_draft_changed(ctx, s, ver)
        s.flush()
        return _fetch(s, asset.id)


def delete_asset(
    ctx: Context, *, user: User | None, identifier: str, version: str, asset_id: str
) -> None:
    with ctx.db.write() as s:
        ver = _writable_draft(s, user, identifier, version)
        _detach(s, ver, _in_version(s, ver, asset_id))
        mark_draft_changed(ctx, s, ver)


def get_asset_validation(
    ctx: Context, *, user: User | None, identifier: str, version: str, asset_id: str
) -> tuple[str, list[dict[str, Any]]]:
    """``(status, validation_errors)`` of an asset in a version."""
    with ctx.db.read() as s:
        _, ver = _resolve(s, user, identifier, version)
        row = s.execute(
            sa.select(Asset.status, Asset.validation_errors)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(VersionAsset.version_id == ver.id, Asset.asset_id == asset_id)
        ).first()
    if row is None:
        raise NotFound("Not found.")
    return row[0].value, list(row[1] or [])


@dataclass(frozen=True)
class PathEntry:
    path: str
    version_pk: int
    aggregate_files: int
    aggregate_size: int
    asset_id: str | None
    blob_key: str | None
    zarr_id: str | None = None


def list_paths(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    path_prefix: str,
    offset: int,
    limit: int,
) -> tuple[int, list[PathEntry]]:
    """Direct children of a folder (``""`` is the root), folders and files alike."""
    folder = normalize_path(path_prefix.strip("/"))
    with ctx.db.read() as s:
        _, ver = _resolve(s, user, identifier, version)
        node = s.execute(
            sa.select(AssetPath.asset_id).where(
                AssetPath.version_id == ver.id, AssetPath.path == folder
            )
        ).first()
        if node is None or node.asset_id is not None:
            raise NotFound(f"No folder {path_prefix!r} in this version.")
        q = (
            sa.select(
                AssetPath.path,
                AssetPath.aggregate_files,
                AssetPath.aggregate_size,
                Asset.asset_id,
                AssetBlob.key,
                Asset.zarr_id,
            )
            .outerjoin(Asset, Asset.id == AssetPath.asset_id)
            .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
            .where(AssetPath.version_id == ver.id, AssetPath.parent == folder)
        )
        total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
        rows = s.execute(q.order_by(AssetPath.path).offset(offset).limit(limit)).all()
    return total, [PathEntry(r[0], ver.id, r[1], r[2], r[3], r[4], r[5]) for r in rows]
