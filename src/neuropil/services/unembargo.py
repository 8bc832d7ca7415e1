"""Ending an embargo: EMBARGOED -> UNEMBARGOING -> OPEN, as on DANDI.

An owner asks (``POST /api/dandisets/{id}/unembargo/``, :func:`request_unembargo`), or the
end date arrives (:func:`unembargo_due`, run by the periodic :data:`CHECK_JOB`).
Either way the dandiset becomes ``UNEMBARGOING`` in one transaction that also queues the job
(:data:`JOB`); while it is, nothing in the dandiset changes (400,
:func:`neuropil.services.embargo.require_settled`) and it stays readable by its owners and
reviewers only. The job (:func:`run_unembargo`) then, with a store that tags embargoed
objects (S3), untags them in batches: the blobs of every asset of the dandiset, each batch
released as it goes (:func:`neuropil.services.embargo_tags.release_held`, so a killed run
resumes where it stopped), and the files of its Zarrs once their ingests are done
(:mod:`neuropil.services.zarr.tags`). Then, in one transaction, it releases the blobs
of every asset of the dandiset (their unsigned URLs work from then on), opens the dandiset,
ends its reviewer grants and review links (everyone can read it now) and queues the
revalidation of the draft, whose ``access`` metadata has changed, and the mail that tells
each owner (:func:`neuropil.services.mail.queue_embargo_ended`). The job is idempotent: only
the run that opens the dandiset queues those, so each owner is told once.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.db.models import (
    AssetBlob,
    Dandiset,
    EmbargoStatus,
    ReviewGrant,
    Upload,
    User,
    Version,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest
from neuropil.services import auth, embargo_tags, mail, reviewers, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import DandisetInfo, get_dandiset_row, load_infos
from neuropil.services.versions import mark_draft_changed
from neuropil.services.zarr import tags as zarr_tags

log = logging.getLogger(__name__)

#: Opens one dandiset (payload ``{"dandiset_id": n}``, and when an owner asked, the
#: ``base_url`` their request reached and their ``asked_by`` name, for the owners' mail).
JOB = "dandiset.unembargo"
#: The periodic check (:func:`check`, payload ``{"every": seconds}``); one queued at a time.
CHECK_JOB = "embargo.check"


def job_key(dandiset_id: int) -> str:
    return f"{JOB}:{dandiset_id}"


def _start(
    ctx: Context, s: Session, dandiset: Dandiset, asked: dict[str, str] | None = None
) -> None:
    dandiset.embargo_status = EmbargoStatus.UNEMBARGOING
    payload = {"dandiset_id": dandiset.id, **(asked or {})}
    ctx.jobs.enqueue(s, JOB, payload, dedup_key=job_key(dandiset.id))


def request_unembargo(
    ctx: Context, *, user: User | None, identifier: str, base_url: str | None = None
) -> DandisetInfo:
    """An owner ends the embargo now (400 if it is not embargoed or uploads are open).
    ``base_url``, the archive as the owner reached it, is the link in the owners' mail
    unless ``NEUROPIL_PUBLIC_URL`` is set."""
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, identifier, lock=True)
        visibility.require_readable(s, user, dandiset)
        auth.require_owner(user, dandiset)
        if dandiset.embargo_status != EmbargoStatus.EMBARGOED:
            raise BadRequest(f"Dandiset {dandiset.identifier} is not embargoed.")
        uploads = s.scalar(
            sa.select(sa.func.count(Upload.upload_id)).where(Upload.dandiset_id == dandiset.id)
        )
        if uploads:
            raise BadRequest(
                f"Dandiset {dandiset.identifier} has {uploads} upload(s) in progress; finish "
                "or cancel them (DELETE /api/uploads/{upload_id}/) before unembargoing."
            )
        asked = {"asked_by": user.username} if user is not None else {}
        if base_url:
            asked["base_url"] = base_url
        _start(ctx, s, dandiset, asked)
        s.flush()
        return load_infos(s, [dandiset])[0]


def _unembargoing(ctx: Context, dandiset_id: int) -> bool:
    with ctx.db.read() as s:
        status = s.scalar(sa.select(Dandiset.embargo_status).where(Dandiset.id == dandiset_id))
    return status == EmbargoStatus.UNEMBARGOING


def run_unembargo(
    ctx: Context, dandiset_id: int, *, base_url: str | None = None, asked_by: str | None = None
) -> None:
    """The job: release the blobs, open the dandiset, end its review access, tell the
    owners (``base_url`` and ``asked_by``: see :data:`JOB`)."""
    if not _unembargoing(ctx, dandiset_id):
        return  # deleted meanwhile, or a repeated run: nothing left to do
    # The bucket first (S3: nothing to do with another store), resumable batch by batch.
    zarr_tags.require_ingested(ctx, dandiset_id)
    embargo_tags.release_held(ctx, dandiset_id)
    zarr_tags.release(ctx, dandiset_id)
    with ctx.db.write() as s:
        dandiset = s.scalar(sa.select(Dandiset).where(Dandiset.id == dandiset_id).with_for_update())
        if dandiset is None or dandiset.embargo_status != EmbargoStatus.UNEMBARGOING:
            return  # deleted meanwhile, or a repeated run: nothing left to do
        held = embargo_tags.held_blobs(dandiset_id)
        now = utcnow()
        s.execute(
            sa.update(AssetBlob)
            .where(AssetBlob.blob_id.in_(held), AssetBlob.embargoed.is_(True))
            .values(embargoed=False, modified=now)
        )
        dandiset.embargo_status = EmbargoStatus.OPEN
        dandiset.embargo_end_date = now.date()
        end_review_access(s, dandiset_id)
        draft = s.scalar(
            sa.select(Version).where(Version.dandiset_id == dandiset_id, Version.version == DRAFT)
        )
        if draft is not None:
            mark_draft_changed(ctx, s, draft)
        mail.queue_embargo_ended(
            ctx,
            s,
            dandiset=dandiset,
            name=draft.name if draft is not None else "",
            ended=now,
            base_url=base_url,
            asked_by=asked_by,
        )
    log.info("dandiset %06d is open: its embargo has ended", dandiset_id)


def end_review_access(s: Session, dandiset_id: int) -> None:
    """Delete a dandiset's reviewer grants, and the accounts of its review links."""
    links = sa.select(ReviewGrant.user_id).where(
        ReviewGrant.dandiset_id == dandiset_id, ReviewGrant.token_hash.is_not(None)
    )
    s.execute(sa.delete(User).where(User.id.in_(links)))  # their grants go with them
    s.execute(sa.delete(ReviewGrant).where(ReviewGrant.dandiset_id == dandiset_id))


def unembargo_due(ctx: Context) -> int:
    """Start unembargoing every dandiset whose end date has come (UTC), and requeue any
    left ``UNEMBARGOING`` without a job; returns how many were started."""
    today = utcnow().date()
    with ctx.db.write() as s:
        due = list(
            s.scalars(
                sa.select(Dandiset).where(
                    Dandiset.embargo_status == EmbargoStatus.EMBARGOED,
                    Dandiset.embargo_end_date.is_not(None),
                    Dandiset.embargo_end_date <= today,
                )
            )
        )
        for dandiset in due:
            _start(ctx, s, dandiset)
        stuck = s.scalars(
            sa.select(Dandiset.id).where(Dandiset.embargo_status == EmbargoStatus.UNEMBARGOING)
        )
        for dandiset_id in stuck:
            if not ctx.jobs.is_queued(s, job_key(dandiset_id)):
                ctx.jobs.enqueue(
                    s, JOB, {"dandiset_id": dandiset_id}, dedup_key=job_key(dandiset_id)
                )
    for dandiset in due:
        log.info("the embargo of dandiset %s ended on its end date", dandiset.identifier)
    return len(due)


def schedule(ctx: Context, every: float) -> None:
    """Queue the next check ``every`` seconds from now, unless one is queued (each process
    that runs jobs calls this now and then, as for garbage collection)."""
    with ctx.db.write() as s:
        ctx.jobs.enqueue(
            s, CHECK_JOB, {"every": every}, dedup_key=CHECK_JOB, delay=every, max_delay=every
        )


def check(ctx: Context, *, every: float) -> None:
    """The periodic job: end the embargoes that reached their end date, delete the accounts
    of review links whose dandiset is gone, and queue the next check."""
    started = unembargo_due(ctx)
    if started:
        log.info("unembargoing %d dandiset(s) at their end date", started)
    reviewers.sweep_link_accounts(ctx)
    if every > 0:
        schedule(ctx, every)
