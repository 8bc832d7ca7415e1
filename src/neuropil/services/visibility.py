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
  for (``embargoed=true``) or when listing one's own (``user=me``). It comes as a
  :class:`Listed` rule whose condition (:func:`listed_condition`) has the caller and the time
  as bound parameters, so a listing's statement is built once per shape;
- :func:`access` says what the caller sees of a dandiset it can read (owner-level details
  for owners, administrators and reviewers);
- :func:`blob_readable` and :func:`publicly_readable` decide for embargoed blobs.

See ``docs/design/embargo.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.engine import Reader
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


# The rule's conditions are on the tables, not the ORM classes: a statement that holds them
# stays a Core statement, which runs without the ORM's execution layer.
_DANDISETS = cast(sa.Table, Dandiset.__table__)
_GRANTS = cast(sa.Table, ReviewGrant.__table__)
_OWNERS = dandiset_owners


def _active_grant(user_id: Any, dandiset_id: Any, now: Any) -> sa.Exists:
    g = _GRANTS.c
    return (
        sa.select(g.id)
        .where(
            g.dandiset_id == dandiset_id,
            g.user_id == user_id,
            sa.or_(g.expires.is_(None), g.expires > now),
        )
        .exists()
    )


_IS_REVIEWER = sa.select(
    _active_grant(sa.bindparam("viewer_id"), sa.bindparam("dandiset_id"), sa.bindparam("now"))
)


def is_reviewer(s: Reader, user: User | None, dandiset: Dandiset) -> bool:
    """Whether ``user`` holds an unexpired review grant on ``dandiset``."""
    if user is None:
        return False
    params = {"viewer_id": user.id, "dandiset_id": dandiset.id, "now": utcnow()}
    return bool(s.scalar(_IS_REVIEWER, params))


def can_read(s: Reader, user: User | None, dandiset: Dandiset) -> bool:
    if not is_embargoed(dandiset):
        return True
    if user is None:
        return False
    return auth.is_owner(user, dandiset) or is_reviewer(s, user, dandiset)


def require_readable(s: Reader, user: User | None, dandiset: Dandiset) -> None:
    """Refuse a caller who may not read ``dandiset``: anonymous 401, others 403."""
    if can_read(s, user, dandiset):
        return
    if user is None:
        raise NotAuthenticated(
            "This dandiset is embargoed; authenticate as one of its owners or reviewers."
        )
    raise PermissionDenied("This dandiset is embargoed; only its owners and reviewers may read it.")


def _kind(user: User | None) -> str:
    """Which dandisets ``user`` reads: ``open`` ones (anonymous), ``all`` (an administrator),
    or those of the ``viewer`` (open ones, their own, those they review)."""
    if user is None:
        return "open"
    return "all" if user.is_admin else "viewer"


def _condition(kind: str, viewer: Any, now: Any) -> sa.ColumnElement[bool]:
    d = _DANDISETS.c
    open_ = d.embargo_status == EmbargoStatus.OPEN
    if kind == "open":
        return open_
    if kind == "all":
        return sa.true()
    owned = (
        sa.select(_OWNERS.c.dandiset_id)
        .where(_OWNERS.c.dandiset_id == d.id, _OWNERS.c.user_id == viewer)
        .exists()
    )
    return sa.or_(open_, owned, _active_grant(viewer, d.id, now))


def readable(user: User | None) -> sa.ColumnElement[bool]:
    """:func:`can_read` as a condition on ``dandisets`` (for lists and searches)."""
    return _condition(_kind(user), user.id if user is not None else None, utcnow())


@dataclass(frozen=True)
class Listed:
    """The dandisets a listing shows (:func:`listed`), for a statement built once:
    :attr:`kind` picks the condition (:func:`listed_condition`), :attr:`params` binds it."""

    kind: str
    #: ``viewer_id`` (the caller, if signed in) and ``now`` (when review grants are read).
    params: dict[str, Any] = field(default_factory=dict)


def listed(user: User | None, *, embargoed: bool = False, mine: bool = False) -> Listed:
    """The dandisets a listing shows: readable ones, embargoed ones only when asked for
    (``embargoed``) or when the caller lists their own (``mine``), as on DANDI."""
    kind = _kind(user) if embargoed or mine else "open"
    params: dict[str, Any] = {} if user is None else {"viewer_id": user.id}
    if kind == "viewer":
        params["now"] = utcnow()
    return Listed(kind, params)


def listed_condition(kind: str) -> sa.ColumnElement[bool]:
    """The condition on ``dandisets`` of a :class:`Listed` rule of this ``kind``; its values
    are the bound parameters ``viewer_id`` and ``now`` (:attr:`Listed.params`)."""
    return _condition(kind, sa.bindparam("viewer_id"), sa.bindparam("now"))


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
