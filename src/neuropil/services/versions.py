"""Versions of a dandiset: the draft (edited, validated) and immutable published versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, is_version_name, parse_dandiset_id
from neuropil.db.engine import Reader
from neuropil.db.models import Dandiset, User, Version, VersionStatus
from neuropil.db.types import utcnow
from neuropil.errors import (
    BadRequest,
    Locked,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    SchemaErrors,
)
from neuropil.services import auth, records, schema, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import (
    MAX_NAME,
    DandisetHead,
    DandisetInfo,
    VersionStats,
    get_dandiset_row,
    load_infos,
    read_dandiset,
    version_stats,
)
from neuropil.services.embargo import require_settled
from neuropil.services.metadata import strip_version_metadata, version_metadata
from neuropil.services.metadata_limits import check_metadata
from neuropil.services.validity import (
    ANY_NOT_VALID,
    asset_validation_errors,
    request_version_validation,
    validation_urls,
)


@dataclass
class VersionView:
    head: DandisetHead
    version: Version
    stats: VersionStats
    #: DANDI's ``asset_validation_errors`` (loaded for ``/info/`` only).
    asset_errors: list[dict[str, Any]] = field(default_factory=list)


def get_version_row(s: Session, dandiset: Dandiset, version: str, *, lock: bool = False) -> Version:
    if not is_version_name(version):
        raise NotFound(f"No version {version!r}: versions are 'draft' or '0.YYMMDD.HHMM'.")
    q = sa.select(Version).where(Version.dandiset_id == dandiset.id, Version.version == version)
    if lock:
        q = q.with_for_update()
    row = s.scalar(q)
    if row is None:
        raise NotFound("Not found.")
    return row


def read_version(
    s: Session, user: User | None, identifier: str, version: str
) -> tuple[Dandiset, Version]:
    """A dandiset and one of its versions for a read, as detached rows (:mod:`.records`):
    the checks and errors of ``get_dandiset_row``, ``require_readable`` and
    :func:`get_version_row`, in that order, from one statement (owners included)."""
    dandiset, row, _ = read_version_with(s, user, identifier, version, records.NO_COLUMNS)
    return dandiset, row


def read_version_with(
    s: Reader,
    user: User | None,
    identifier: str,
    version: str,
    more: records.VersionColumns,
    params: dict[str, Any] | None = None,
) -> tuple[Dandiset, Version, tuple[Any, ...]]:
    """:func:`read_version`, and the values of ``more`` (its parameters in ``params``)
    from the same statement."""
    number = parse_dandiset_id(identifier)
    found = records.dandiset_and_version(s, number, version, more, params)
    if found is None:
        raise NotFound("Not found.")
    dandiset, row, values = found
    return dandiset, _readable_version(s, user, dandiset, version, row), values


def read_version_rows(
    s: Reader,
    user: User | None,
    identifier: str,
    version: str,
    more: records.VersionRows,
    params: dict[str, Any],
) -> records.FoundRows:
    """:func:`read_version` (the version's :data:`~.records.VERSION_KEY` alone), the values
    of the version's columns of ``more`` and its rows (its parameters in ``params``), from
    the same statement: the checks and errors of :func:`read_version`, in its order. The
    dandiset's owners are read only when they decide (an embargoed dandiset)."""
    number = parse_dandiset_id(identifier)
    found = records.dandiset_version_rows(s, number, version, more, params)
    if found is None:
        raise NotFound("Not found.")
    if visibility.is_embargoed(found.dandiset):
        records.with_owners(s, [found.dandiset])
    _readable_version(s, user, found.dandiset, version, found.version)
    return found


def _readable_version(
    s: Reader, user: User | None, dandiset: Dandiset, version: str, row: Version | None
) -> Version:
    """``row``, the version named ``version`` of ``dandiset`` as read, once ``user`` may
    read the dandiset and the version exists."""
    visibility.require_readable(s, user, dandiset)
    if not is_version_name(version):
        raise NotFound(f"No version {version!r}: versions are 'draft' or '0.YYMMDD.HHMM'.")
    if row is None:
        raise NotFound("Not found.")
    return row


#: A version read with what its representation needs (:class:`DandisetHead`, its files and
#: bytes), in one statement: the root totals, the active uploads, the newest published
#: version's metadata; ``/info/`` also reads whether any asset of the archive is not valid
#: (in the usual case of a valid archive its validation errors then take no statement).
_VIEW = (records.ROOT_FILES, records.ROOT_SIZE, records.UPLOADS, records.LATEST_METADATA)
_VIEW_COLUMNS = records.VersionColumns(*_VIEW)
_INFO_COLUMNS = records.VersionColumns(*_VIEW, ANY_NOT_VALID)


def get_version(
    ctx: Context, *, user: User | None, identifier: str, version: str, with_errors: bool = False
) -> VersionView:
    with ctx.db.rows() as s:
        more = _INFO_COLUMNS if with_errors else _VIEW_COLUMNS
        dandiset, row, values = read_version_with(s, user, identifier, version, more)
        files, size, uploads, latest_metadata = values[:4]
        # Without a published version the draft's metadata stands for the dandiset, and
        # then the version read is the draft (only the draft exists).
        head_metadata = row.metadata_ if latest_metadata is None else latest_metadata
        head = DandisetHead(dandiset, head_metadata, int(uploads or 0))
        stats = VersionStats(int(files or 0), int(size or 0))
        errors = (
            asset_validation_errors(s, row.id, members=stats.asset_count, any_not_valid=values[4])
            if with_errors
            else []
        )
        return VersionView(head, row, stats, errors)


def list_versions(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    order: str | None,
    offset: int,
    limit: int,
) -> tuple[int, DandisetInfo, list[tuple[Version, VersionStats]]]:
    if order not in (None, "", "created", "-created", "modified", "-modified"):
        raise BadRequest(f"Unknown order {order!r}; use created, modified, -created or -modified.")
    with ctx.db.read() as s:
        dandiset = read_dandiset(s, identifier)
        visibility.require_readable(s, user, dandiset)
        info = load_infos(s, [dandiset])[0]
        col = Version.modified if order and order.endswith("modified") else Version.created
        q = sa.select(Version).where(Version.dandiset_id == dandiset.id)
        total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
        ordered = col.desc() if order and order.startswith("-") else col.asc()
        rows = list(s.scalars(q.order_by(ordered, Version.id).offset(offset).limit(limit)))
        stats = version_stats(s, [v.id for v in rows])
        return total, info, [(v, stats.get(v.id, VersionStats())) for v in rows]


def require_unlocked(draft: Version) -> None:
    """A draft being published takes no changes until the publish job is done."""
    if draft.status == VersionStatus.PUBLISHING:
        raise Locked("Dandiset is currently being published; try again when it is done.")


def mark_draft_changed(ctx: Context, s: Session, draft: Version) -> None:
    """Any change to a draft sends it back to Pending and queues its validation."""
    now = utcnow()
    draft.status = VersionStatus.PENDING
    draft.modified = now
    s.execute(sa.update(Dandiset).where(Dandiset.id == draft.dandiset_id).values(modified=now))
    request_version_validation(ctx, s, draft.id)


def _refuse_new_structural_errors(
    ctx: Context, row: Version, dandiset: Dandiset, name: str, md: dict[str, Any]
) -> None:
    """For ``strict`` saves (the web editor's form): refuse metadata with structural errors
    the stored draft does not already have, listing every bad field. Errors already stored
    (written through the API) do not block saving the rest."""

    def errors_of(name: str, md: dict[str, Any]) -> list[dict[str, str]]:
        candidate = Version(
            version=row.version,
            name=name,
            metadata_=md,
            assets_summary=row.assets_summary,
            doi=row.doi,
        )
        full = version_metadata(
            candidate, dandiset, validation_urls(ctx), instance_name=ctx.settings.instance_name
        )
        return schema.structural_errors(full)

    known = {(e["field"], e["message"]) for e in errors_of(row.name, row.metadata_)}
    errors = [e for e in errors_of(name, md) if (e["field"], e["message"]) not in known]
    if errors:
        listed = "; ".join(f"{e['field'] or '(metadata)'}: {e['message']}" for e in errors[:50])
        raise SchemaErrors(
            f"The metadata does not fit the Dandiset schema {schema.SCHEMA_VERSION} "
            f"({len(errors)} error{'s' if len(errors) != 1 else ''}): {listed}",
            [{"field": e["field"], "message": e["message"]} for e in errors],
        )


def update_draft_metadata(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    name: object,
    metadata: object,
    strict: bool = False,
) -> VersionView:
    """Store a draft's name and metadata (``PUT .../versions/draft/``).

    As on DANDI, a draft may be invalid: any JSON object is stored (computed fields are
    stripped) and its validation reports what publishing needs (status ``Invalid`` with
    the errors). Only what would harm the archive is refused: a body that is not an object,
    an empty or overlong name, oversized or too deeply nested metadata. ``strict`` (the web
    editor) also refuses new structural errors (:func:`_refuse_new_structural_errors`).
    """
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object.")
    check_metadata(metadata)
    if name is None:
        name = metadata.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("A version needs a non-empty 'name'.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"The name is {len(name)} characters long; the maximum is {MAX_NAME}.")
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, identifier, lock=True)
        visibility.require_readable(s, user, dandiset)
        row = get_version_row(s, dandiset, version, lock=True)
        auth.require_owner(user, dandiset)
        if row.version != DRAFT:
            raise MethodNotAllowed("Only draft versions can be modified.")
        require_unlocked(row)
        require_settled(dandiset)
        new_md: dict[str, Any] = strip_version_metadata(metadata)
        if new_md != strip_version_metadata(row.metadata_) or name.strip() != row.name:
            if strict:
                _refuse_new_structural_errors(ctx, row, dandiset, name.strip(), new_md)
            row.metadata_ = new_md
            row.name = name.strip()
            mark_draft_changed(ctx, s, row)
        s.flush()
        info = load_infos(s, [dandiset])[0]
        stats = version_stats(s, [row.id]).get(row.id, VersionStats())
        return VersionView(info.head, row, stats)


def delete_version(ctx: Context, *, user: User | None, identifier: str, version: str) -> None:
    """A draft is never deleted on its own (403, as DANDI); a published version is
    immutable, so deleting one is refused for everyone (405)."""
    user = auth.require_approved(user)
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
        row = get_version_row(s, dandiset, version)
    if row.version == DRAFT:
        raise PermissionDenied("Cannot delete draft versions; delete the dandiset instead.")
    raise MethodNotAllowed(f"Version {row.version} is published; published versions are immutable.")
