"""Who may read a dandiset: the one place that decides it.

An open dandiset is readable by everyone. An embargoed one (``EMBARGOED``, and
``UNEMBARGOING`` until the job is done) is readable by its owners, administrators and its
reviewers (named accounts and review links, until their grant expires); anonymous callers
are told to authenticate (401), everyone else is refused (403). Everything below a dandiset
(versions, assets, blobs, manifests, indexes, tables, search hits, web pages) is read
through :func:`require_readable` or filtered with :func:`readable`, so the rule is written
here once:

- :func:`can_read` / :func:`require_readable` decide for one dandiset;
- :func:`readable` is the same rule as a SQL condition on ``dandisets``, for searches;
- :func:`listed` adds DANDI's listing rule: embargoed dandisets are listed only when asked
  for (``embargoed=true``) or when listing one's own (``user=me``);
- :func:`access` says what the caller sees of a dandiset it can read (owner-level details
  for owners, administrators and reviewers);
- :func:`blob_readable` and :func:`publicly_readable` decide for embargoed blobs.

See ``docs/design/embargo.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import (
    Asset,
    AssetBlob,
    BlobClaim,
    Dandiset,
    EmbargoStatus,
    ReviewGrant,
    User,
    Version,
    VersionAsset,
    dandiset_owners,
)
from neuropil.db.types import utcnow
from neuropil.errors import NotAuthenticated, PermissionDenied
from neuropil.services import auth
from neuropil.services.context import Context


def is_embargoed(dandiset: Dandiset) -> bool:
    """Embargoed until the unembargo job has finished (``UNEMBARGOING`` included)."""
    return dandiset.embargo_status != EmbargoStatus.OPEN


def _active_grant(user_id: int, dandiset_id: Any) -> sa.Exists:
    now = utcnow()
    return (
        sa.select(ReviewGrant.id)
        .where(
            ReviewGrant.dandiset_id == dandiset_id,
            ReviewGrant.user_id == user_id,
            sa.or_(ReviewGrant.expires.is_(None), ReviewGrant.expires > now),
        )
        .exists()
    )


def is_reviewer(s: Session, user: User | None, dandiset: Dandiset) -> bool:
    """Whether ``user`` holds an unexpired review grant on ``dandiset``."""
    if user is None:
        return False
    return bool(s.scalar(sa.select(_active_grant(user.id, dandiset.id))))


def can_read(s: Session, user: User | None, dandiset: Dandiset) -> bool:
    if not is_embargoed(dandiset):
        return True
    if user is None:
        return False
    return auth.is_owner(user, dandiset) or is_reviewer(s, user, dandiset)


def require_readable(s: Session, user: User | None, dandiset: Dandiset) -> None:
    """Refuse a caller who may not read ``dandiset``: anonymous 401, others 403."""
    if can_read(s, user, dandiset):
        return
    if user is None:
        raise NotAuthenticated(
            "This dandiset is embargoed; authenticate as one of its owners or reviewers."
        )
    raise PermissionDenied("This dandiset is embargoed; only its owners and reviewers may read it.")


def readable(user: User | None) -> sa.ColumnElement[bool]:
    """:func:`can_read` as a condition on ``dandisets`` (for lists and searches)."""
    open_ = Dandiset.embargo_status == EmbargoStatus.OPEN
    if user is None:
        return open_
    if user.is_admin:
        return sa.true()
    owned = (
        sa.select(dandiset_owners.c.dandiset_id)
        .where(
            dandiset_owners.c.dandiset_id == Dandiset.id,
            dandiset_owners.c.user_id == user.id,
        )
        .exists()
    )
    return sa.or_(open_, owned, _active_grant(user.id, Dandiset.id))


def listed(user: User | None, *, embargoed: bool = False, mine: bool = False) -> Any:
    """The dandisets a listing shows: readable ones, embargoed ones only when asked for
    (``embargoed``) or when the caller lists their own (``mine``), as on DANDI."""
    if embargoed or mine:
        return readable(user)
    return Dandiset.embargo_status == EmbargoStatus.OPEN


@dataclass(frozen=True)
class Access:
    """What a caller who can read a dandiset may see and do there."""

    #: Owners and administrators: every action on the dandiset.
    owner: bool
    #: Owners, administrators and reviewers: owner-level reads (e-mail addresses of the
    #: owners, validation details); a reviewer reads everything an owner reads.
    insider: bool


def access(ctx: Context, *, user: User | None, dandiset: Dandiset) -> Access:
    owner = auth.is_owner(user, dandiset)
    if owner:
        return Access(True, True)
    with ctx.db.read() as s:
        return Access(False, is_reviewer(s, user, dandiset))


# -- blobs -----------------------------------------------------------------------------------
def publicly_readable(blob: AssetBlob) -> bool:
    """Whether a blob's bytes may be served without a signature (its unsigned URL): never
    for an embargoed blob, whose bytes go out only through signed, expiring URLs handed to
    callers who may read an asset that holds it."""
    return not blob.embargoed


def blob_readable(s: Session, user: User | None, blob: AssetBlob) -> bool:
    """Whether ``user`` may learn of ``blob`` and use it in an asset: an open blob, or an
    embargoed one that a dandiset they can read holds (an asset of any version) or claims
    (its bytes were uploaded for it: :class:`~neuropil.db.models.BlobClaim`)."""
    if not blob.embargoed:
        return True
    holders = (
        sa.select(Version.dandiset_id)
        .join(VersionAsset, VersionAsset.version_id == Version.id)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .where(Asset.blob_id == blob.blob_id)
        .union(sa.select(BlobClaim.dandiset_id).where(BlobClaim.blob_id == blob.blob_id))
    )
    found = s.scalar(
        sa.select(Dandiset.id).where(Dandiset.id.in_(holders), readable(user)).limit(1)
    )
    return found is not None
