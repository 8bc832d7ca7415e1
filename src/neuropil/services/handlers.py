"""The job kinds a worker can run, bound to a context."""

from __future__ import annotations

import logging
from typing import Any

from neuropil.jobs.protocol import Handler
from neuropil.services import (
    blobs,
    embargo_tags,
    gc,
    indexes,
    mail,
    publish,
    unembargo,
    validity,
)
from neuropil.services.context import Context
from neuropil.services.draft_jobs import ASSETS_JOB, PUBLISH_JOB, VERSION_JOB
from neuropil.services.zarr import archives as zarr_archives
from neuropil.services.zarr import ingest as zarr_ingest

log = logging.getLogger(__name__)


def job_handlers(ctx: Context) -> dict[str, Handler]:
    """Each job kind's handler, bound to ``ctx``: plain functions of a payload, so any job
    engine can run them. Each is idempotent (a job may run twice: see
    ``docs/design/jobs.md``)."""

    def sha256(payload: dict[str, Any]) -> None:
        blobs.compute_sha256(ctx, str(payload["blob_id"]))

    def index(payload: dict[str, Any]) -> None:
        indexes.build_blob_index(ctx, str(payload["blob_id"]))

    def validate_assets(payload: dict[str, Any]) -> None:
        blob_id = payload.get("blob_id")
        validity.validate_pending_assets(ctx, str(blob_id) if blob_id else None)

    def validate_version(payload: dict[str, Any]) -> None:
        validity.validate_version(ctx, int(payload["version_id"]))

    def publish_version(payload: dict[str, Any]) -> None:
        publish.run_publish(
            ctx,
            version_id=int(payload["version_id"]),
            user_id=int(payload["user_id"]),
            base_url=str(payload["base_url"]),
        )

    def ingest_zarr(payload: dict[str, Any]) -> None:
        zarr_ingest.ingest(ctx, str(payload["zarr_id"]))

    def purge_zarr(payload: dict[str, Any]) -> None:
        zarr_archives.purge(ctx, str(payload["zarr_id"]))

    def release_blob(payload: dict[str, Any]) -> None:
        embargo_tags.release_blob(ctx, str(payload["blob_id"]))

    def open_dandiset(payload: dict[str, Any]) -> None:
        unembargo.run_unembargo(
            ctx,
            int(payload["dandiset_id"]),
            base_url=payload.get("base_url"),
            asked_by=payload.get("asked_by"),
        )

    def check_embargoes(payload: dict[str, Any]) -> None:
        unembargo.check(ctx, every=float(payload.get("every") or 0))

    def send_mail(payload: dict[str, Any]) -> None:
        mail.deliver(ctx, payload)

    def collect(payload: dict[str, Any]) -> None:
        report = gc.collect(ctx)
        if report.total():
            log.info("garbage collection: %s", report)

    return {
        gc.JOB: collect,
        "blob.sha256": sha256,
        zarr_ingest.INGEST_JOB: ingest_zarr,
        zarr_archives.PURGE_JOB: purge_zarr,
        indexes.JOB: index,
        ASSETS_JOB: validate_assets,
        VERSION_JOB: validate_version,
        PUBLISH_JOB: publish_version,
        embargo_tags.JOB: release_blob,
        unembargo.JOB: open_dandiset,
        unembargo.CHECK_JOB: check_embargoes,
        mail.JOB: send_mail,
    }
