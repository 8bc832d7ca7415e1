"""The job kinds a worker can run, bound to a context."""

from __future__ import annotations

from typing import Any

from neuropil.jobs.worker import Handler
from neuropil.services import blobs, indexes, publish, validate
from neuropil.services.context import Context


def job_handlers(ctx: Context) -> dict[str, Handler]:
    def sha256(payload: dict[str, Any]) -> None:
        blobs.compute_sha256(ctx, str(payload["blob_id"]))

    def index(payload: dict[str, Any]) -> None:
        indexes.build_blob_index(ctx, str(payload["blob_id"]))

    def validate_assets(payload: dict[str, Any]) -> None:
        blob_id = payload.get("blob_id")
        validate.validate_pending_assets(ctx, str(blob_id) if blob_id else None)

    def validate_version(payload: dict[str, Any]) -> None:
        validate.validate_version(ctx, int(payload["version_id"]))

    def publish_version(payload: dict[str, Any]) -> None:
        publish.run_publish(
            ctx,
            version_id=int(payload["version_id"]),
            user_id=int(payload["user_id"]),
            base_url=str(payload["base_url"]),
        )

    return {
        "blob.sha256": sha256,
        indexes.JOB: index,
        validate.ASSETS_JOB: validate_assets,
        validate.VERSION_JOB: validate_version,
        publish.PUBLISH_JOB: publish_version,
    }
