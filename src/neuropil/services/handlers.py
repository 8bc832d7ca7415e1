"""The job kinds a worker can run, bound to a context."""

from __future__ import annotations

from typing import Any

from neuropil.jobs.worker import Handler
from neuropil.services import blobs
from neuropil.services.context import Context


def job_handlers(ctx: Context) -> dict[str, Handler]:
    def sha256(payload: dict[str, Any]) -> None:
        blobs.compute_sha256(ctx, str(payload["blob_id"]))

    return {"blob.sha256": sha256}
