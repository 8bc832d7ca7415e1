"""Kinds and dedup keys of the jobs that act on drafts: validation and publishing.

They live below both :mod:`~neuropil.services.validity` and
:mod:`~neuropil.services.publish` because each needs the other's keys: the validation safety
net (:func:`~neuropil.services.validity.reconcile`) must tell a publish still queued from one
that failed for good, and publishing builds on validation.
"""

from __future__ import annotations

#: Validates a draft's metadata and stores its ``assetsSummary``; debounced per draft.
VERSION_JOB = "version.validate"
#: Validates pending assets, of one blob or (key ``assets.validate:*``) of all blobs.
ASSETS_JOB = "assets.validate"
#: Publishes a draft (the draft stays ``Publishing`` until it is done).
PUBLISH_JOB = "version.publish"


def version_job_key(version_id: int) -> str:
    """The dedup key of the validation of one draft."""
    return f"{VERSION_JOB}:{version_id}"


def assets_job_key(blob_id: str | None) -> str:
    """The dedup key of the validation of the pending assets of a blob (``None``: all)."""
    return f"{ASSETS_JOB}:{blob_id or '*'}"


def publish_key(draft_id: int) -> str:
    """The dedup key of the publish job of one draft."""
    return f"{PUBLISH_JOB}:{draft_id}"
