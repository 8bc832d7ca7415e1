"""The rows of the hot read paths, read with Core statements that are built once.

A read such as a version's ``/info/`` needs a handful of rows. Loading them as ORM entities
cost SQLAlchemy far more CPU than SQLite spends answering (measured here: 0.25-0.5 ms for a
dandiset with its owners through the ORM, ~0.03 ms for the same rows through a prebuilt Core
select, ~0.002 ms in SQLite itself). The statements below are module constants with bound
parameters, so SQLAlchemy builds and compiles each once (its cache key is memoized on the
statement object), and their rows become *detached* model objects: instances that belong to
no session, with the same attributes a loaded row has (a dandiset's ``owners`` too), so
serializers and permission checks read them unchanged.

They are read-only values: never add them to a session, never change them. Writes load their
rows through the ORM, locked (``get_dandiset_row(..., lock=True)``). Nothing is cached: every
call reads the database, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.db.engine import Reader, connection_of
from neuropil.db.models import (
    AssetBlob,
    AssetPath,
    Dandiset,
    Upload,
    User,
    Version,
    dandiset_owners,
)

_B = cast(sa.Table, AssetBlob.__table__)
_D = cast(sa.Table, Dandiset.__table__)
_V = cast(sa.Table, Version.__table__)
_U = cast(sa.Table, User.__table__)
_P = cast(sa.Table, AssetPath.__table__)
_UP = cast(sa.Table, Upload.__table__)
_O = dandiset_owners

_DANDISET_FIELDS = ("id", "embargo_status", "embargo_end_date", "created", "modified")
_VERSION_FIELDS = (
    "id",
    "dandiset_id",
    "version",
    "name",
    "metadata_",
    "status",
    "validation_errors",
    "doi",
    "release_notes",
    "assets_summary",
    "created",
    "modified",
)
_USER_FIELDS = ("id", "username", "email", "name", "is_admin", "status", "password_hash", "created")


def _columns(table: sa.Table, fields: Sequence[str]) -> list[sa.ColumnElement[Any]]:
    return [table.c["metadata" if f == "metadata_" else f] for f in fields]


_D_COLS = _columns(_D, _DANDISET_FIELDS)
#: The columns :func:`dandiset` takes, in its order (for statements built elsewhere).
DANDISET_COLUMNS = tuple(_D_COLS)
_V_COLS = _columns(_V, _VERSION_FIELDS)
_ND, _NV = len(_D_COLS), len(_V_COLS)

_U_COLS = _columns(_U, _USER_FIELDS)
_BLOB_FIELDS = ("blob_id", "key", "etag", "sha256", "size", "embargoed", "created", "modified")
#: A blob by its object key (every blob GET asks).
BLOB_BY_KEY = sa.select(*_columns(_B, _BLOB_FIELDS)).where(_B.c.key == sa.bindparam("key"))
#: What a statement of :class:`VersionColumns` joins to the dandiset and its version.
Joins = Callable[[sa.Join], sa.Join]


def _named_version(joins: Joins | None) -> sa.Join:
    """The dandiset (bound ``id``, in the statement's ``WHERE``) outer-joined to its
    version named ``version`` (bound), then to what ``joins`` adds."""
    version = _D.outerjoin(
        _V, sa.and_(_V.c.dandiset_id == _D.c.id, _V.c.version == sa.bindparam("version"))
    )
    return joins(version) if joins is not None else version


#: The id of the version named ``version`` (bound) of the dandiset ``id`` (bound), for a
#: subquery that cannot refer to the outer rows (:class:`VersionRows`).
NAMED_VERSION_ID = (
    sa.select(_V.c.id)
    .where(_V.c.dandiset_id == sa.bindparam("id"), _V.c.version == sa.bindparam("version"))
    .scalar_subquery()
)


def _dandiset_version(
    columns: Sequence[sa.ColumnExpressionArgument[Any]] = (),
    joins: Joins | None = None,
    version_columns: Sequence[sa.ColumnElement[Any]] = _V_COLS,
) -> sa.Select[Any]:
    """A dandiset and one of its versions by name (``NULL`` columns when it has none
    such), then ``columns`` (of what ``joins`` adds, or scalar subqueries), one row per
    owner (``NULL`` user columns when it has none)."""
    owners = _named_version(joins).outerjoin(_O, _O.c.dandiset_id == _D.c.id)
    return (
        sa.select(*_D_COLS, *version_columns, *columns, *_U_COLS)
        .select_from(owners.outerjoin(_U, _U.c.id == _O.c.user_id))
        .where(_D.c.id == sa.bindparam("id"))
    )


DANDISET_VERSION = _dandiset_version()
DANDISETS = sa.select(*_D_COLS).where(_D.c.id.in_(sa.bindparam("ids", expanding=True)))
#: The owners of dandisets, as the ORM's ``selectin`` loader of ``Dandiset.owners`` asks.
OWNERS = (
    sa.select(_O.c.dandiset_id, *_U_COLS)
    .select_from(_O.join(_U, _U.c.id == _O.c.user_id))
    .where(_O.c.dandiset_id.in_(sa.bindparam("ids", expanding=True)))
)
_LATER = _V.alias("later")


def _newest_published(
    column: sa.ColumnElement[Any], dandiset: sa.ColumnElement[Any]
) -> sa.ScalarSelect[Any]:
    """``column`` of the newest published version of the dandiset ``dandiset`` of the
    outer row (a scalar subquery)."""
    return (
        sa.select(column)
        .where(_LATER.c.dandiset_id == dandiset, _LATER.c.version != DRAFT)
        .order_by(_LATER.c.created.desc(), _LATER.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _active_uploads(dandiset: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """How many uploads of the dandiset ``dandiset`` of the outer row are in progress."""
    return (
        sa.select(sa.func.count()).select_from(_UP).where(_UP.c.dandiset_id == dandiset)
    ).scalar_subquery()


#: The newest published version of the dandiset of the outer ``versions`` row.
_LATEST_PUBLISHED = _newest_published(_LATER.c.id, _V.c.dandiset_id)
_ROOT = sa.and_(_P.c.version_id == _V.c.id, _P.c.path == "")
#: The active uploads of the dandiset of the outer ``versions`` row.
_UPLOADS = _active_uploads(_V.c.dandiset_id)
#: Each dandiset's draft and newest published version, with their root's totals and the
#: dandiset's active uploads (one statement: each costs SQLAlchemy more than SQLite).
HEAD_VERSIONS = (
    sa.select(*_V_COLS, _P.c.aggregate_files, _P.c.aggregate_size, _UPLOADS)
    .select_from(_V.outerjoin(_P, _ROOT))
    .where(
        _V.c.dandiset_id.in_(sa.bindparam("ids", expanding=True)),
        sa.or_(_V.c.version == DRAFT, _V.c.id == _LATEST_PUBLISHED),
    )
)
# Columns for :class:`VersionColumns`, of the outer ``dandisets`` and ``versions`` rows.
#: The version's files and bytes: its folder tree's root's totals.
ROOT_FILES = sa.select(_P.c.aggregate_files).where(_ROOT).scalar_subquery()
ROOT_SIZE = sa.select(_P.c.aggregate_size).where(_ROOT).scalar_subquery()
#: The dandiset's active uploads.
UPLOADS = _active_uploads(_D.c.id)
#: The metadata of the dandiset's newest published version (``NULL``: it has none).
LATEST_METADATA = _newest_published(_LATER.c.metadata, _D.c.id)
#: Files and bytes of versions: their folder tree's root (kept in the writes' transactions).
VERSION_TOTALS = sa.select(_P.c.version_id, _P.c.aggregate_files, _P.c.aggregate_size).where(
    _P.c.version_id.in_(sa.bindparam("ids", expanding=True)), _P.c.path == ""
)


def _make(cls: type[Any], fields: Sequence[str], values: Sequence[Any]) -> Any:
    """A detached instance of the mapped ``cls`` holding ``values`` as its loaded state.

    As the ORM's own loading does: a new instance from the class manager, its attributes
    put straight into its ``__dict__`` (the instance state's dict). The mapped constructor
    sets each through the attribute instrumentation (events, history): 15 µs for a
    version against 1.3 µs this way, and a read makes three to five of them.
    """
    out = cls._sa_class_manager.new_instance()
    out.__dict__.update(zip(fields, values, strict=True))
    return out


def _set_owners(d: Dandiset, owners: list[User]) -> None:
    """A detached dandiset's ``owners``, as loaded state (no collection events)."""
    d.__dict__["owners"] = owners


def dandiset(values: Sequence[Any]) -> Dandiset:
    out: Dandiset = _make(Dandiset, _DANDISET_FIELDS, values)
    return out


def version(values: Sequence[Any]) -> Version:
    out: Version = _make(Version, _VERSION_FIELDS, values)
    return out


def blob_by_key(s: Reader, key: str) -> AssetBlob | None:
    """The blob stored under ``key``, if any (a detached row, as above)."""
    row = connection_of(s).execute(BLOB_BY_KEY, {"key": key}).first()
    if row is None:
        return None
    out: AssetBlob = _make(AssetBlob, _BLOB_FIELDS, row)
    return out


def with_owners(s: Reader, dandisets: Sequence[Dandiset]) -> None:
    """Fill in the ``owners`` of detached dandisets."""
    if not dandisets:
        return
    owners: dict[int, list[User]] = {d.id: [] for d in dandisets}
    for row in s.execute(OWNERS, {"ids": list(owners)}):
        owners[row[0]].append(_make(User, _USER_FIELDS, row[1:]))
    for d in dandisets:
        _set_owners(d, owners[d.id])


#: The fields of a version that name it: all an asset listing needs of it. Its metadata,
#: validation errors and assets summary are JSON documents (of tens of kilobytes in a large
#: dandiset, more in an invalid draft's errors) that such a read would transfer and decode
#: for nothing.
VERSION_KEY = ("id", "dandiset_id", "version")


class VersionColumns:
    """More columns read with a dandiset and its version (:func:`dandiset_and_version`), in
    the same statement, for a read that would otherwise run more: scalar subqueries of the
    outer ``dandisets`` and ``versions`` rows (``/info/``'s totals), or columns of tables
    that ``joins`` adds with outer joins, at most one row each (a path lookup's asset).
    Their bound parameters are passed to :func:`dandiset_and_version`. Build one per set,
    once (a module constant), as the other statements here.

    ``version_fields`` are the fields of the version read (all by default): the version
    read has only those loaded, and reading another one of it raises
    :class:`~sqlalchemy.orm.exc.DetachedInstanceError`."""

    def __init__(
        self,
        *columns: sa.ColumnExpressionArgument[Any],
        joins: Joins | None = None,
        version_fields: Sequence[str] = _VERSION_FIELDS,
    ) -> None:
        self.count = len(columns)
        self.version_fields = tuple(version_fields)
        self.statement = _dandiset_version(columns, joins, _columns(_V, self.version_fields))


#: No more columns: :data:`DANDISET_VERSION` itself.
NO_COLUMNS = VersionColumns()


def dandiset_and_version(
    s: Reader,
    number: int,
    version_name: str,
    more: VersionColumns = NO_COLUMNS,
    params: dict[str, Any] | None = None,
) -> tuple[Dandiset, Version | None, tuple[Any, ...]] | None:
    """Dandiset ``number`` (with its owners), its version ``version_name`` if it has one,
    and the values of ``more`` (its parameters in ``params``); ``None`` if there is no
    such dandiset."""
    values = {"id": number, "version": version_name, **(params or {})}
    rows = connection_of(s).execute(more.statement, values)
    first = None
    owners: list[User] = []
    nv = len(more.version_fields)
    users = _ND + nv + more.count
    for row in rows:
        first = first or row
        if row[users] is not None:
            owners.append(_make(User, _USER_FIELDS, row[users:]))
    if first is None:
        return None
    d = dandiset(first[:_ND])
    _set_owners(d, owners)
    v: Version | None = None
    if first[_ND] is not None:
        v = _make(Version, more.version_fields, first[_ND : _ND + nv])
    return d, v, tuple(first[_ND + nv : users])


#: The fields of a dandiset that decide who may read it (:mod:`.visibility`), with its
#: owners (:func:`with_owners`): all :class:`VersionRows` reads of it.
DANDISET_KEY = ("id", "embargo_status")
_DANDISET_KEY_COLS = _columns(_D, DANDISET_KEY)
_VERSION_KEY_COLS = _columns(_V, VERSION_KEY)


def with_root(version: sa.Join) -> sa.Join:
    """``version`` joined to its folder tree's root (for :data:`ROOT_FILES_COLUMN`)."""
    return version.outerjoin(_P, _ROOT)


#: The version's files, of the root :func:`with_root` joins (a column, read once per
#: statement where :data:`ROOT_FILES`, a subquery, would run once per row).
ROOT_FILES_COLUMN = _P.c.aggregate_files


class VersionRows:
    """A dandiset by number (bound ``id``; :data:`DANDISET_KEY`), the key of its version
    named ``version`` (:data:`VERSION_KEY`; ``NULL`` columns when it has none), ``columns``
    of what ``joins`` adds to them (at most one row each), then each row of ``rows`` (a
    subquery joined on true: one row of ``NULL`` columns when it has none), in the order
    of ``order_by`` (columns of ``rows``): one statement where a read would otherwise run
    two, the version's and then its rows'. ``rows`` finds the version by its own bound
    ``id`` and ``version`` (:data:`NAMED_VERSION_ID`; it cannot refer to the outer rows:
    SQLite has no ``LATERAL``).
    The first column of ``rows`` is never ``NULL`` in a row of it.

    Every row repeats the dandiset's and the version's columns, so they are few, and
    converted once (:func:`dandiset_version_rows` reads them from the first row). Unlike
    :class:`VersionColumns` it reads no owners (they would multiply the rows): its caller
    reads them when they decide (:func:`with_owners`). Build one per shape, once."""

    def __init__(
        self,
        rows: sa.Subquery,
        order_by: Sequence[sa.ColumnElement[Any]],
        *columns: sa.ColumnExpressionArgument[Any],
        joins: Joins | None = None,
    ) -> None:
        self.count = len(columns)
        self.statement = (
            sa.select(*_DANDISET_KEY_COLS, *_VERSION_KEY_COLS, *columns, *rows.c)
            .select_from(_named_version(joins).outerjoin(rows, sa.true()))
            .where(_D.c.id == sa.bindparam("id"))
            .order_by(*order_by)
        )


@dataclass(frozen=True)
class FoundRows:
    """What :func:`dandiset_version_rows` read: the dandiset (:data:`DANDISET_KEY` loaded,
    not its owners), its version (:data:`VERSION_KEY` loaded; ``None`` if it has none
    such), the values of the version's columns, and the rows of the subquery (its columns
    only). Reading a field that is not loaded raises
    :class:`~sqlalchemy.orm.exc.DetachedInstanceError`."""

    dandiset: Dandiset
    version: Version | None
    values: tuple[Any, ...]
    rows: list[tuple[Any, ...]]


_NK = len(DANDISET_KEY)


def dandiset_version_rows(
    s: Reader, number: int, version_name: str, more: VersionRows, params: dict[str, Any]
) -> FoundRows | None:
    """The dandiset ``number``, its version ``version_name`` and the rows of ``more`` (its
    other parameters in ``params``); ``None`` if there is no such dandiset."""
    found = (
        connection_of(s)
        .execute(more.statement, {"id": number, "version": version_name, **params})
        .all()
    )
    if not found:
        return None
    first = found[0]
    nv = _NK + len(VERSION_KEY)
    start = nv + more.count
    v: Version | None = None
    if first[_NK] is not None:
        v = _make(Version, VERSION_KEY, first[_NK:nv])
    rows = [r[start:] for r in found] if first[start] is not None else []
    d: Dandiset = _make(Dandiset, DANDISET_KEY, first[:_NK])
    return FoundRows(d, v, tuple(first[nv:start]), rows)


def dandisets(s: Session, numbers: Sequence[int]) -> dict[int, Dandiset]:
    """Dandisets by number (with their owners); missing numbers are left out."""
    found = {row[0]: dandiset(row) for row in s.execute(DANDISETS, {"ids": list(numbers)})}
    with_owners(s, list(found.values()))
    return found


@dataclass(frozen=True)
class HeadVersion:
    """A dandiset's draft or newest published version, the files and bytes of its root
    (``None`` if it has no tree), and the dandiset's active uploads."""

    version: Version
    totals: tuple[int, int] | None
    uploads: int


def head_versions(s: Reader, dandiset_ids: Sequence[int]) -> list[HeadVersion]:
    """The draft and newest published version of each dandiset."""
    rows = connection_of(s).execute(HEAD_VERSIONS, {"ids": list(dandiset_ids)})
    return [
        HeadVersion(
            version(r[:_NV]),
            (r[_NV], r[_NV + 1]) if r[_NV] is not None else None,
            int(r[_NV + 2] or 0),
        )
        for r in rows
    ]


def version_totals(s: Session, version_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    return {
        vid: (n, size) for vid, n, size in s.execute(VERSION_TOTALS, {"ids": list(version_ids)})
    }
