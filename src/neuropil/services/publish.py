"""Publishing a draft: DANDI's preconditions in the request, the work in a durable job.

The request checks ownership and that the draft is publishable (status Valid and every
asset Valid), sets the draft to ``Publishing`` (the lock: every write to the draft answers
423 until the job is done) and queues ``version.publish`` in the same transaction.

The job computes everything outside the write lock, writes the manifests, and then in one
transaction inserts the new version (status ``Publishing``), links the draft's assets to it
with ``INSERT ... SELECT`` (no copies, no per-row ORM), copies the folder tree, marks the
assets published with their ``publishedBy``/``datePublished``, and seals the version
(status ``Valid``) — from then on the database triggers of migration 0003 refuse any change.
The draft becomes ``Published`` until it changes again.

Zarr assets are the exception to "link the draft's assets": each is pinned to an immutable
snapshot of its Zarr, stored before the transaction and linked in it
(:mod:`neuropil.services.zarr.snapshots`, ``docs/design/zarr.md``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, published_version_name
from neuropil.db.models import (
    Asset,
    AssetBlob,
    AssetPath,
    Dandiset,
    EmbargoStatus,
    User,
    Version,
    VersionAsset,
    VersionStatus,
    ZarrArchive,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, Conflict, Locked, MethodNotAllowed
from neuropil.services import auth, manifests, schema, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.services.draft_jobs import PUBLISH_JOB, publish_key
from neuropil.services.metadata import published_asset_metadata
from neuropil.services.urls import Urls
from neuropil.services.validity import publishable_metadata, unpublishable_assets
from neuropil.services.versions import get_version_row
from neuropil.services.zarr import snapshots as zarr_snapshots

log = logging.getLogger(__name__)

MAX_RELEASE_NOTES = 5000
NOT_VALID = "Dandiset metadata or asset metadata is not valid"


def parse_release_notes(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("'release_notes' must be a string.")
    if len(value) > MAX_RELEASE_NOTES:
        raise BadRequest(
            f"'release_notes' is {len(value)} characters long; the maximum is {MAX_RELEASE_NOTES}."
        )
    return value


# -- the request ----------------------------------------------------------------------------
def _refuse_unpublishable(s: Session, draft: Version) -> None:
    """DANDI's answers by draft status; the 400s name what is wrong."""
    status = draft.status
    if status == VersionStatus.PUBLISHED:
        raise BadRequest("There have been no changes to the draft version since the last publish.")
    if status == VersionStatus.PUBLISHING:
        raise Locked("Dandiset is currently being published")
    if status == VersionStatus.VALIDATING:
        raise Conflict("Dandiset is currently being validated")
    if status == VersionStatus.PENDING:
        raise Conflict("Metadata validation is pending for this dandiset, please try again later.")
    problems = []
    if status == VersionStatus.INVALID:
        fields = ", ".join(
            f"{e.get('field') or '(metadata)'}: {e.get('message')}"
            for e in (draft.validation_errors or [])[:10]
        )
        problems.append(f"the dandiset metadata has errors ({fields or 'see /info/'})")
    bad = unpublishable_assets(s, draft.id)
    if bad:
        listed = ", ".join(f"{path} ({state})" for path, state in bad)
        problems.append(f"these assets are not valid: {listed}")
    if problems:
        raise BadRequest(f"{NOT_VALID}: " + "; ".join(problems) + ".")


def request_publish(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    release_notes: object,
    base_url: str,
) -> tuple[Dandiset, Version]:
    """Lock the draft for publishing and queue the job; returns the draft (Publishing)."""
    if version != DRAFT:
        raise MethodNotAllowed("Only draft versions can be published")
    notes = parse_release_notes(release_notes)
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, identifier, lock=True)
        visibility.require_readable(s, user, dandiset)
        owner = auth.require_owner(user, dandiset)
        if dandiset.embargo_status != EmbargoStatus.OPEN:
            raise BadRequest("Operation only allowed on OPEN dandisets")
        draft = get_version_row(s, dandiset, DRAFT, lock=True)
        _refuse_unpublishable(s, draft)
        draft.status = VersionStatus.PUBLISHING
        draft.release_notes = notes
        ctx.jobs.enqueue(
            s,
            PUBLISH_JOB,
            {"version_id": draft.id, "user_id": owner.id, "base_url": base_url},
            dedup_key=publish_key(draft.id),
        )
        s.flush()
        return dandiset, draft


# -- the job --------------------------------------------------------------------------------
@dataclass
class _Plan:
    draft: Version
    dandiset: Dandiset
    summary: dict[str, Any]
    assets: list[Any]
    taken: set[str]


def _plan(ctx: Context, version_id: int) -> _Plan | None:
    with ctx.db.read() as s:
        draft = s.get(Version, version_id)
        if draft is None or draft.version != DRAFT or draft.status != VersionStatus.PUBLISHING:
            return None  # done already, or the lock was released
        dandiset = s.get(Dandiset, draft.dandiset_id)
        assert dandiset is not None
        assets = s.execute(
            sa.select(Asset.asset_id, Asset.path, Asset.metadata_, AssetBlob, ZarrArchive)
            .join(VersionAsset, VersionAsset.asset_id == Asset.id)
            .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
            .outerjoin(ZarrArchive, ZarrArchive.zarr_id == Asset.zarr_id)
            .where(VersionAsset.version_id == draft.id)
            .order_by(VersionAsset.path)
        ).all()
        taken = set(s.scalars(sa.select(Version.version).where(Version.dandiset_id == dandiset.id)))
    # Every asset of a publishable draft is valid: the summary covers them all.
    summary = schema.assets_summary(
        {**md, "path": path, "contentSize": (blob or zarr).size if blob or zarr else 0}
        for _, path, md, blob, zarr in assets
    )
    return _Plan(draft, dandiset, summary, list(assets), taken)


def next_version(taken: set[str], now: datetime) -> str:
    """``0.YYMMDD.HHMM`` of ``now``, a minute later for each collision (as DANDI)."""
    when = now
    while (name := published_version_name(when)) in taken:
        when += timedelta(minutes=1)
    return name


def run_publish(ctx: Context, *, version_id: int, user_id: int, base_url: str) -> str | None:
    """The ``version.publish`` job; returns the new version's name (``None``: nothing to do)."""
    plan = _plan(ctx, version_id)
    if plan is None:
        return None
    now = utcnow()
    name = next_version(plan.taken, now)
    urls = Urls(base_url.rstrip("/"), ctx.store, ctx.settings.blob_base_url)
    row, full = publishable_metadata(
        ctx, plan.draft, plan.dandiset, urls, now=now, version=name, summary=plan.summary
    )
    errors = schema.check(full, "PublishedDandiset")
    if errors:
        _abandon(ctx, version_id, errors)
        return None
    activity = row.metadata_["publishedBy"]
    try:  # Zarrs: snapshots (their bytes stored now, their rows in the transaction below)
        pins = zarr_snapshots.pin(ctx, [(a, z) for a, _, _, _, z in plan.assets if z])
    except zarr_snapshots.ZarrChanged as exc:
        _abandon(ctx, version_id, [{"field": "", "message": str(exc)}])
        return None
    asset_mds = [
        published_asset_metadata(pins.view(a, p, md, blob), urls, activity)
        for a, p, md, blob, _ in plan.assets
    ]
    manifests.write(ctx.store, plan.dandiset.identifier, name, full, asset_mds)
    patch = {"publishedBy": activity, "datePublished": activity["startDate"]}
    with ctx.db.write() as s:
        # The dandiset first, then its draft, as every writer of a dandiset locks them. The
        # new version's row takes a share lock on its dandiset (its foreign key): with the
        # draft locked first, a writer holding the dandiset and waiting for the draft
        # deadlocked with this job (seen on PostgreSQL: "deadlock detected").
        s.execute(sa.select(Dandiset.id).where(Dandiset.id == plan.dandiset.id).with_for_update())
        draft = s.get(Version, version_id, with_for_update=True)
        if draft is None or draft.status != VersionStatus.PUBLISHING:
            return None
        s.add(row)
        s.flush()
        _link(s, draft.id, row.id, patch, postgres=not ctx.db.is_sqlite)
        zarr_snapshots.link(s, pins, row.id, patch)
        row.status = VersionStatus.VALID  # seals the version: the triggers guard it now
        draft.status = VersionStatus.PUBLISHED
        draft.validation_errors = []
        draft.assets_summary = plan.summary
        s.flush()
    log.info("published dandiset %s version %s (user %s)", plan.dandiset.identifier, name, user_id)
    return name


def _link(s: Session, draft_id: int, new_id: int, patch: dict[str, Any], *, postgres: bool) -> None:
    """Link the draft's assets and folder tree to the new version; publish the assets."""
    va = cast(sa.Table, VersionAsset.__table__)
    ap = cast(sa.Table, AssetPath.__table__)
    s.execute(
        sa.insert(va).from_select(
            ["version_id", "asset_id", "path", "path_lower"],
            sa.select(sa.literal(new_id), va.c.asset_id, va.c.path, va.c.path_lower).where(
                va.c.version_id == draft_id
            ),
        )
    )
    s.execute(
        sa.insert(ap).from_select(
            ["version_id", "path", "parent", "aggregate_files", "aggregate_size", "asset_id"],
            sa.select(
                sa.literal(new_id),
                ap.c.path,
                ap.c.parent,
                ap.c.aggregate_files,
                ap.c.aggregate_size,
                ap.c.asset_id,
            ).where(ap.c.version_id == draft_id),
        )
    )
    doc = json.dumps(patch)
    metadata: Any
    if postgres:
        metadata = Asset.metadata_.op("||")(sa.cast(sa.literal(doc), postgresql.JSONB))
    else:
        metadata = sa.func.json_patch(Asset.metadata_, doc)
    members = sa.select(va.c.asset_id).where(va.c.version_id == draft_id)
    s.execute(
        sa.update(Asset)
        # Zarr assets stay the draft's: the version gets snapshots (zarr_snapshots.link).
        .where(Asset.id.in_(members), Asset.published.is_(False), Asset.zarr_id.is_(None))
        .values(published=True, metadata_=metadata),
        execution_options={"synchronize_session": False},
    )


def _abandon(ctx: Context, version_id: int, errors: list[dict[str, str]]) -> None:
    """The result would not be a valid published dandiset: give the draft back as Invalid."""
    log.warning("publishing version %s abandoned: %s", version_id, errors)
    with ctx.db.write() as s:
        s.execute(
            sa.update(Version)
            .where(Version.id == version_id, Version.status == VersionStatus.PUBLISHING)
            .values(status=VersionStatus.INVALID, validation_errors=errors)
        )
