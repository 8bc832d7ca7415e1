"""The server's verdict on assets and drafts (their ``status`` and ``validationErrors``),
computed so that nobody waits for it. (:mod:`neuropil.validation` is something else: the
checks of local files before an upload.)

- An asset is checked against ``PublishedAsset`` as soon as its blob's sha256 is known: in
  the request that creates it when the blob is already hashed, otherwise by the
  ``assets.validate`` job that the sha256 job enqueues in its own transaction.
- A draft is checked against ``PublishedDandiset`` by the ``version.validate`` job, which
  every change enqueues with a short debounce and a dedup key, so a burst of uploads queues
  one job, not one per asset. The job also stores the ``assetsSummary`` of the valid assets
  on the version, so reads never aggregate.
- The job computes outside any write transaction and writes only if the draft did not
  change meanwhile (its ``modified`` is the token); a change enqueues the next job anyway.
- :func:`reconcile` is the safety net run at start-up and periodically: it requeues work a
  crash or an old database left behind.

See ``docs/design/publishing.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, published_version_name
from neuropil.db.engine import Reader, connection_of
from neuropil.db.models import (
    Asset,
    AssetBlob,
    AssetPath,
    AssetStatus,
    Dandiset,
    Version,
    VersionAsset,
    VersionStatus,
    ZarrArchive,
)
from neuropil.db.types import JSONDoc, utcnow
from neuropil.services import schema
from neuropil.services.content import Content, ZarrLike
from neuropil.services.context import Context
from neuropil.services.draft_jobs import (
    ASSETS_JOB,
    VERSION_JOB,
    assets_job_key,
    publish_key,
    version_job_key,
)
from neuropil.services.metadata import (
    AssetLike,
    doi_for,
    publish_activity,
    published_asset_metadata,
    version_metadata,
)
from neuropil.services.urls import Urls

log = logging.getLogger(__name__)

#: However busy a draft is, it is validated at least this often (seconds).
MAX_DEBOUNCE = 5.0
BATCH = 500
#: DANDI lists at most this many pending and this many invalid assets in ``/info/``.
ERROR_LIMIT = 50
PENDING_MESSAGE = "asset is currently being validated, please wait."


def validation_urls(ctx: Context) -> Urls:
    """URLs for metadata that is only validated: the real base is per request, and only
    the form of a URL matters to the schema."""
    base = (ctx.settings.public_url or "http://localhost").rstrip("/")
    return Urls(base, ctx.store, ctx.settings.blob_base_url)


# -- requests for validation ----------------------------------------------------------------
def request_version_validation(ctx: Context, s: Session, version_id: int) -> None:
    """Queue (or push back, debounced) the validation of a draft, in the caller's
    transaction."""
    ctx.jobs.enqueue(
        s,
        VERSION_JOB,
        {"version_id": version_id},
        dedup_key=version_job_key(version_id),
        delay=ctx.settings.validation_delay,
        max_delay=MAX_DEBOUNCE,
    )


def request_asset_validation(ctx: Context, s: Session, blob_id: str | None = None) -> None:
    """Queue the validation of pending assets (of one blob, or all of them)."""
    ctx.jobs.enqueue(s, ASSETS_JOB, {"blob_id": blob_id}, dedup_key=assets_job_key(blob_id))


# -- assets ---------------------------------------------------------------------------------
def asset_errors(ctx: Context, asset: AssetLike, now: datetime | None = None) -> schema.Errors:
    """Errors of an asset's metadata as it would be published (``[]`` = valid)."""
    activity = publish_activity(now or utcnow(), ctx.settings.instance_name)
    md = published_asset_metadata(asset, validation_urls(ctx), activity)
    return schema.check(md, "PublishedAsset")


def validate_new_asset(ctx: Context, asset: Asset, content: Content) -> None:
    """Validate an asset about to be inserted, if its content is ready (else it stays
    Pending until the sha256 job hands it to :func:`validate_pending_assets`, or a Zarr's
    ingest validates it)."""
    if not content.ready:
        return
    view = AssetView(asset.asset_id, asset.path, asset.metadata_, asset.blob, asset.zarr)
    errors = asset_errors(ctx, view)
    asset.status = AssetStatus.INVALID if errors else AssetStatus.VALID
    asset.validation_errors = errors


class AssetView:
    """What :func:`asset_errors` needs, from a plain row."""

    def __init__(
        self,
        asset_id: str,
        path: str,
        md: dict[str, Any],
        blob: AssetBlob | None,
        zarr: ZarrLike | None = None,
    ) -> None:
        self.asset_id, self.path, self.metadata_, self.blob = asset_id, path, md, blob
        self.zarr = zarr
        # Validated as it would be published, and a published asset is open.
        self.embargoed = False
        self.embargoed_until: date | None = None


def _pending_batch(ctx: Context, blob_id: str | None, after: int) -> list[Any]:
    with ctx.db.read() as s:
        q = (
            sa.select(Asset.id, Asset.asset_id, Asset.path, Asset.metadata_, AssetBlob)
            .join(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
            .where(
                Asset.status == AssetStatus.PENDING,
                Asset.published.is_(False),
                AssetBlob.sha256.is_not(None),
                Asset.id > after,
            )
            .order_by(Asset.id)
            .limit(BATCH)
        )
        if blob_id is not None:
            q = q.where(Asset.blob_id == blob_id)
        return list(s.execute(q).all())


def validate_pending_assets(ctx: Context, blob_id: str | None = None) -> int:
    """Validate pending assets whose blob is hashed, batch by batch; each batch is written in
    one short transaction that also queues the validation of the drafts holding them."""
    table = cast(sa.Table, Asset.__table__)
    update = (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("pk"),
            table.c.published.is_(False),
            table.c.status == AssetStatus.PENDING.value,
        )
        .values(
            status=sa.bindparam("new_status", type_=table.c.status.type),
            validation_errors=sa.bindparam("errors", type_=JSONDoc),
        )
    )
    done, after = 0, 0
    while rows := _pending_batch(ctx, blob_id, after):
        after = rows[-1].id
        now = utcnow()
        params = []
        for pk, asset_id, path, md, blob in rows:
            errors = asset_errors(ctx, AssetView(asset_id, path, md, blob), now)
            status = AssetStatus.INVALID if errors else AssetStatus.VALID
            params.append({"pk": pk, "new_status": status, "errors": errors})
        with ctx.db.write() as s:
            s.connection().execute(update, params)
            drafts = _drafts_holding(s, [r.id for r in rows])
            if drafts:
                # A new token for the drafts (as DANDI bumps ``modified``): a validation
                # that read the assets before this commit must not write its summary.
                s.execute(sa.update(Version).where(Version.id.in_(drafts)).values(modified=now))
            for vid in drafts:
                request_version_validation(ctx, s, vid)
        done += len(rows)
    return done


def _drafts_holding(s: Session, asset_pks: list[int]) -> list[int]:
    return list(
        s.scalars(
            sa.select(VersionAsset.version_id)
            .join(Version, Version.id == VersionAsset.version_id)
            .where(VersionAsset.asset_id.in_(asset_pks), Version.version == DRAFT)
            .distinct()
        )
    )


# -- drafts ---------------------------------------------------------------------------------
def placeholder_summary(files: int, size: int) -> dict[str, Any]:
    """What dandi-archive validates a draft with: publishing fills in the real summary, so
    only "has files" and "has bytes" matter."""
    return {
        "schemaKey": "AssetsSummary",
        "numberOfBytes": 1 if size > 0 else 0,
        "numberOfFiles": 1 if files > 0 else 0,
    }


def publishable_metadata(
    ctx: Context,
    draft: Version,
    dandiset: Dandiset,
    urls: Urls,
    *,
    now: datetime,
    version: str,
    summary: dict[str, Any],
) -> tuple[Version, dict[str, Any]]:
    """The version that publishing ``draft`` at ``now`` would make (a transient row, not
    in any session) and its full metadata."""
    stored = dict(draft.metadata_)
    stored["publishedBy"] = publish_activity(now, ctx.settings.instance_name)
    stored["datePublished"] = now.isoformat()
    if draft.release_notes:
        stored["releaseNotes"] = draft.release_notes
    row = Version(
        dandiset_id=draft.dandiset_id,
        version=version,
        name=draft.name,
        metadata_=stored,
        status=VersionStatus.PUBLISHING,
        validation_errors=[],
        release_notes=draft.release_notes,
        assets_summary=summary,
        doi=doi_for(
            ctx.settings.doi_prefix, ctx.settings.instance_name, dandiset.identifier, version
        ),
        created=now,
        modified=now,
    )
    return row, version_metadata(row, dandiset, urls, instance_name=ctx.settings.instance_name)


def valid_asset_metadata(s: Session, version_id: int) -> Iterable[dict[str, Any]]:
    """Stored metadata plus path and size (a blob's, or a Zarr's bytes) of a version's
    valid assets: enough for dandischema's summary."""
    rows = s.execute(
        sa.select(Asset.metadata_, Asset.path, sa.func.coalesce(AssetBlob.size, ZarrArchive.size))
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
        .outerjoin(ZarrArchive, ZarrArchive.zarr_id == Asset.zarr_id)
        .where(VersionAsset.version_id == version_id, Asset.status == AssetStatus.VALID)
    )
    for md, path, size in rows:
        yield {**md, "path": path, "contentSize": size or 0}


def validate_version(ctx: Context, version_id: int) -> None:
    """The ``version.validate`` job: status, errors and ``assetsSummary`` of a draft."""
    with ctx.db.read() as s:
        draft = s.get(Version, version_id)
        if draft is None or draft.version != DRAFT:
            return
        if draft.status in (VersionStatus.PUBLISHING, VersionStatus.PUBLISHED):
            return  # a publish owns the draft; the next change queues a new validation
        dandiset = s.get(Dandiset, draft.dandiset_id)
        assert dandiset is not None
        root = s.execute(
            sa.select(AssetPath.aggregate_files, AssetPath.aggregate_size).where(
                AssetPath.version_id == version_id, AssetPath.path == ""
            )
        ).first()
        summary = schema.assets_summary(valid_asset_metadata(s, version_id))
    token, was = draft.modified, draft.status
    if was == VersionStatus.PENDING:
        _set_validating(ctx, version_id, token)
    now = utcnow()
    files, size = (root[0], root[1]) if root else (0, 0)
    _, candidate = publishable_metadata(
        ctx,
        draft,
        dandiset,
        validation_urls(ctx),
        now=now,
        version=published_version_name(now),
        summary=placeholder_summary(files, size),
    )
    errors = schema.check(candidate, "PublishedDandiset")
    with ctx.db.write() as s:
        s.execute(
            sa.update(Version)
            .where(
                Version.id == version_id,
                Version.modified == token,
                Version.status.in_(_VALIDATABLE),
            )
            .values(
                status=VersionStatus.INVALID if errors else VersionStatus.VALID,
                validation_errors=errors,
                assets_summary=summary,
            )
        )


_VALIDATABLE = (
    VersionStatus.PENDING,
    VersionStatus.VALIDATING,
    VersionStatus.VALID,
    VersionStatus.INVALID,
)


def _set_validating(ctx: Context, version_id: int, token: datetime) -> None:
    with ctx.db.write() as s:
        s.execute(
            sa.update(Version)
            .where(
                Version.id == version_id,
                Version.modified == token,
                Version.status == VersionStatus.PENDING,
            )
            .values(status=VersionStatus.VALIDATING)
        )


# -- reading results ------------------------------------------------------------------------
_PENDING_STATES = (AssetStatus.PENDING, AssetStatus.VALIDATING)
_NOT_VALID = (*_PENDING_STATES, AssetStatus.INVALID)


def _errors_queries(by_status: bool) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The pending and the invalid members of a version, 50 of each in path order, two ways:

    - by membership: the version's ``version_assets`` in path order, each asset's row read
      for its status. The work grows with the version: SQLite walks every member of a
      version that has none to report (~0.7-1.4 s at 100,000 assets here);
    - by status: the assets in those states (``ix_assets_status``), each checked for
      membership on the primary key of ``version_assets``. The work grows with the
      archive's assets in those states.

    (``Asset.path`` is the membership's path: ``version_assets`` copies it.)"""
    if by_status:
        member = (
            sa.select(VersionAsset.asset_id)
            .where(
                VersionAsset.version_id == sa.bindparam("version_id"),
                VersionAsset.asset_id == Asset.id,
            )
            .exists()
        )
        base = sa.select(Asset.path, Asset.validation_errors).where(member)
        order: Any = Asset.path
    else:
        base = (
            sa.select(Asset.path, Asset.validation_errors)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .where(VersionAsset.version_id == sa.bindparam("version_id"))
        )
        order = VersionAsset.path
    pending = base.where(Asset.status.in_(_PENDING_STATES)).order_by(order).limit(ERROR_LIMIT)
    invalid = base.where(Asset.status == AssetStatus.INVALID).order_by(order).limit(ERROR_LIMIT)
    return pending, invalid


# Built once (building a statement costs SQLAlchemy more than SQLite takes to answer it).
_BY_MEMBERSHIP = _errors_queries(by_status=False)
_BY_STATUS = _errors_queries(by_status=True)
#: How many assets of the archive are not valid, counted up to ``cap``.
#: Whether any asset of the archive is pending, being validated or invalid (a column: read
#: with the version of ``/info/``, in the same statement: ``services/versions.py``).
# The states as one bound parameter each: a list given to ``in_`` is an "expanding"
# parameter, which SQLAlchemy renders into the statement's text again at every execution
# (a tenth of the Python of ``/info/``'s one statement, in cProfile).
ANY_NOT_VALID = (
    sa.exists()
    .where(
        Asset.status.in_(
            [sa.bindparam(None, state, type_=Asset.status.type) for state in _NOT_VALID]
        )
    )
    .label("any_not_valid")
)
_NOT_VALID_UP_TO = sa.select(sa.func.count()).select_from(
    sa.select(Asset.id).where(Asset.status.in_(_NOT_VALID)).limit(sa.bindparam("cap")).subquery()
)


def asset_validation_errors(
    s: Reader, version_id: int, *, members: int | None = None, any_not_valid: bool = True
) -> list[dict[str, Any]]:
    """DANDI's ``asset_validation_errors``: up to 50 assets still being validated, then the
    errors of up to 50 invalid assets.

    ``members`` (the version's asset count, if the caller has it) picks the cheaper of the
    two ways of :func:`_errors_queries`: by status when the archive holds fewer assets that
    are not valid than the version has members (counted on the status index, up to that
    many), else by membership. With none in those states anywhere (the usual case of a
    valid archive), the count is the only statement, and none when the caller read
    :data:`ANY_NOT_VALID` already and passes it as ``any_not_valid``."""
    if not any_not_valid:
        return []
    if members is None:
        members = (
            s.scalar(
                sa.select(AssetPath.aggregate_files).where(
                    AssetPath.version_id == version_id, AssetPath.path == ""
                )
            )
            or 0
        )
    conn = connection_of(s)  # rows of columns: no ORM result set-up (services/assets.py)
    not_valid = conn.scalar(_NOT_VALID_UP_TO, {"cap": members}) or 0
    if not not_valid:  # no asset of the archive is pending or invalid: nothing to list
        return []
    pending_q, invalid_q = _BY_STATUS if not_valid < members else _BY_MEMBERSHIP
    pending = conn.execute(pending_q, {"version_id": version_id}).all()
    invalid = conn.execute(invalid_q, {"version_id": version_id}).all()
    out: list[dict[str, Any]] = [
        {"field": "", "message": PENDING_MESSAGE, "path": path} for path, _ in pending
    ]
    for path, errors in invalid:
        for e in errors or [{"field": "", "message": "invalid"}]:
            out.append({"field": e.get("field", ""), "message": e.get("message", ""), "path": path})
    return out


def unpublishable_assets(s: Session, version_id: int, limit: int = 10) -> list[tuple[str, str]]:
    """(path, status) of assets that keep a draft from being published."""
    return [
        (path, status.value)
        for path, status in s.execute(
            sa.select(VersionAsset.path, Asset.status)
            .join(Asset, Asset.id == VersionAsset.asset_id)
            .where(VersionAsset.version_id == version_id, Asset.status != AssetStatus.VALID)
            .order_by(VersionAsset.path)
            .limit(limit)
        )
    ]


# -- the safety net -------------------------------------------------------------------------
def reconcile(ctx: Context) -> int:
    """Queue validation that nothing has queued: drafts left Pending or Validating, drafts
    left Publishing by a publish job that failed for good, and pending assets whose blob is
    hashed. Returns how many jobs were queued."""
    queued = 0
    with ctx.db.write() as s:
        active = ctx.jobs.active_keys(s)
        drafts = s.execute(
            sa.select(Version.id, Version.status).where(
                Version.version == DRAFT,
                Version.status.in_(
                    [VersionStatus.PENDING, VersionStatus.VALIDATING, VersionStatus.PUBLISHING]
                ),
            )
        ).all()
        for vid, status in drafts:
            if status == VersionStatus.PUBLISHING:
                if publish_key(vid) in active:
                    continue
                log.warning("draft %s was left Publishing by a failed publish; revalidating", vid)
                s.execute(
                    sa.update(Version)
                    .where(Version.id == vid)
                    .values(status=VersionStatus.PENDING, modified=utcnow())
                )
            elif version_job_key(vid) in active:
                continue
            request_version_validation(ctx, s, vid)
            queued += 1
        pending_asset = s.scalar(
            sa.select(Asset.id)
            .join(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
            .where(
                Asset.status == AssetStatus.PENDING,
                Asset.published.is_(False),
                AssetBlob.sha256.is_not(None),
            )
            .limit(1)
        )
        if pending_asset is not None and assets_job_key(None) not in active:
            request_asset_validation(ctx, s)
            queued += 1
    return queued
