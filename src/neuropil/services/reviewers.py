"""Reviewers of an embargoed dandiset: read-only access for peer review (beyond DANDI).

An owner (or an administrator) grants read access to named accounts (:func:`set_reviewers`,
:func:`add_reviewer`, :func:`remove_reviewer`), or creates a *review link*
(:func:`create_link`): a bearer token in a URL for a journal's anonymous reviewers, which
expires (:data:`DEFAULT_LINK_DAYS` unless told) and can be revoked (:func:`revoke_link`).
A link stands for an account of its own, made with it and deleted with it; that account
can never write (:attr:`neuropil.db.models.User.is_review_link`). What a reviewer may read
is decided with everyone else's reads in :mod:`neuropil.services.visibility`: all that an
owner reads, and nothing else. Who the reviewers are is for the owners only: reviewers of
one paper do not learn of each other.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import REVIEW_LINK_USERNAME, Dandiset, ReviewGrant, User, UserStatus
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, NotAuthenticated, NotFound
from neuropil.services import auth, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row

DEFAULT_LINK_DAYS = 90
MAX_DAYS = 5 * 366
MAX_LABEL = 200


@dataclass(frozen=True)
class Reviewer:
    """A named reviewer, as the owners see it."""

    username: str
    name: str
    expires: datetime | None
    created: datetime


@dataclass(frozen=True)
class ReviewLink:
    """A review link, as the owners see it (its token is shown once, at creation)."""

    id: int
    label: str
    created: datetime
    expires: datetime | None
    created_by: str | None

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= utcnow()


@dataclass(frozen=True)
class NewLink:
    link: ReviewLink
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_expiry(value: object, *, default_days: int | None) -> datetime | None:
    """``"YYYY-MM-DD"`` (through the end of that day, UTC) or an ISO date-time with a zone;
    ``None``/``""`` gives the default (``None``: no expiry)."""
    now = utcnow()
    if value is None or value == "":
        return now + timedelta(days=default_days) if default_days else None
    if not isinstance(value, str):
        raise BadRequest("'expires' must be a date (YYYY-MM-DD) or an ISO date-time.")
    text = value.strip()
    try:
        if len(text) == 10:
            when = datetime.combine(
                date.fromisoformat(text) + timedelta(days=1), datetime.min.time(), UTC
            )
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"'expires' {value!r} is not a date (YYYY-MM-DD) or date-time.") from exc
    if when.tzinfo is None:
        raise BadRequest("'expires' needs a time zone, e.g. 2027-01-31T12:00:00Z.")
    if when <= now:
        raise BadRequest("'expires' must be in the future.")
    if when > now + timedelta(days=MAX_DAYS):
        raise BadRequest("'expires' may be at most five years away.")
    return when.astimezone(UTC)


def _manageable(s: Session, user: User | None, identifier: str) -> Dandiset:
    """The dandiset whose reviewers ``user`` manages: its owners and administrators."""
    dandiset = get_dandiset_row(s, identifier, lock=True)
    visibility.require_readable(s, user, dandiset)
    auth.require_owner(user, dandiset)
    return dandiset


def _reviewer(grant: ReviewGrant) -> Reviewer:
    return Reviewer(grant.user.username, grant.user.name, grant.expires, grant.created)


def _named(s: Session, dandiset_id: int) -> list[ReviewGrant]:
    return list(
        s.scalars(
            sa.select(ReviewGrant)
            .where(ReviewGrant.dandiset_id == dandiset_id, ReviewGrant.token_hash.is_(None))
            .order_by(ReviewGrant.created, ReviewGrant.id)
        )
    )


def _link(s: Session, grant: ReviewGrant) -> ReviewLink:
    creator = s.get(User, grant.created_by) if grant.created_by is not None else None
    return ReviewLink(
        grant.id, grant.label, grant.created, grant.expires, creator.username if creator else None
    )


# -- named reviewers -------------------------------------------------------------------------
def list_reviewers(ctx: Context, *, user: User | None, identifier: str) -> list[Reviewer]:
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
        auth.require_owner(user, dandiset)
        return [_reviewer(g) for g in _named(s, dandiset.id)]


def _account(s: Session, username: str) -> User:
    found = s.scalar(sa.select(User).where(User.username == username.strip()))
    if found is None or found.is_review_link:
        raise BadRequest(f"User {username.strip()} not found")
    return found


def _parse_entries(body: object) -> list[tuple[str, object]]:
    if not isinstance(body, list):
        raise BadRequest(
            "Send a JSON list of reviewers, each {'username': ..., 'expires': optional date}."
        )
    entries: list[tuple[str, object]] = []
    for i, item in enumerate(body):
        name = item.get("username") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise BadRequest(f"Reviewer {i} needs a 'username' string, e.g. {{'username': 'bob'}}.")
        expires = item.get("expires") if isinstance(item, dict) else None
        if name.strip() not in [n for n, _ in entries]:
            entries.append((name.strip(), expires))
    return entries


def set_reviewers(
    ctx: Context, *, user: User | None, identifier: str, body: object
) -> list[Reviewer]:
    """Replace the named reviewers (``PUT .../reviewers/``, shaped like DANDI's owners PUT);
    an empty list removes them all. Review links are left alone."""
    with ctx.db.write() as s:
        dandiset = _manageable(s, user, identifier)
        entries = _parse_entries(body)
        wanted = {
            _account(s, name).id: parse_expiry(expires, default_days=None)
            for name, expires in entries
        }
        for grant in _named(s, dandiset.id):
            if grant.user_id not in wanted:
                s.delete(grant)
            else:
                grant.expires = wanted.pop(grant.user_id)
        creator = auth.require_user(user).id
        for user_id, expires in wanted.items():
            _grant(s, dandiset, user_id, expires, creator)
        s.flush()
        return [_reviewer(g) for g in _named(s, dandiset.id)]


def _grant(s: Session, dandiset: Dandiset, user_id: int, expires: datetime | None, by: int) -> None:
    taken = s.scalar(
        sa.select(ReviewGrant).where(
            ReviewGrant.dandiset_id == dandiset.id, ReviewGrant.user_id == user_id
        )
    )
    if taken is not None:
        taken.expires = expires
        return
    s.add(ReviewGrant(dandiset_id=dandiset.id, user_id=user_id, expires=expires, created_by=by))


def add_reviewer(
    ctx: Context, *, user: User | None, identifier: str, username: str, expires: object = None
) -> list[Reviewer]:
    """Grant (or renew) one named reviewer's read access (the web form)."""
    with ctx.db.write() as s:
        dandiset = _manageable(s, user, identifier)
        reviewer = _account(s, username)
        when = parse_expiry(expires, default_days=None)
        _grant(s, dandiset, reviewer.id, when, auth.require_user(user).id)
        s.flush()
        return [_reviewer(g) for g in _named(s, dandiset.id)]


def remove_reviewer(
    ctx: Context, *, user: User | None, identifier: str, username: str
) -> list[Reviewer]:
    with ctx.db.write() as s:
        dandiset = _manageable(s, user, identifier)
        grants = [g for g in _named(s, dandiset.id) if g.user.username == username]
        if not grants:
            raise NotFound(f"{username} is not a reviewer of dandiset {dandiset.identifier}.")
        s.delete(grants[0])
        s.flush()
        return [_reviewer(g) for g in _named(s, dandiset.id)]


# -- review links ----------------------------------------------------------------------------
def list_links(ctx: Context, *, user: User | None, identifier: str) -> list[ReviewLink]:
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
        auth.require_owner(user, dandiset)
        grants = s.scalars(
            sa.select(ReviewGrant)
            .where(ReviewGrant.dandiset_id == dandiset.id, ReviewGrant.token_hash.is_not(None))
            .order_by(ReviewGrant.created, ReviewGrant.id)
        )
        return [_link(s, g) for g in grants]


def create_link(
    ctx: Context, *, user: User | None, identifier: str, label: object, expires: object
) -> NewLink:
    """A new review link; its token is returned here and never again (stored hashed)."""
    if label is not None and not isinstance(label, str):
        raise BadRequest("'label' must be a string, e.g. 'Journal of Neuroscience, round 1'.")
    text = (label or "").strip()
    if len(text) > MAX_LABEL:
        raise BadRequest(f"'label' is at most {MAX_LABEL} characters long.")
    when = parse_expiry(expires, default_days=DEFAULT_LINK_DAYS)
    token = secrets.token_urlsafe(32)
    with ctx.db.write() as s:
        dandiset = _manageable(s, user, identifier)
        account = User(
            username=REVIEW_LINK_USERNAME + secrets.token_hex(8),
            name=f"Reviewer of {dandiset.identifier}" + (f" ({text})" if text else ""),
            status=UserStatus.INCOMPLETE,
        )
        s.add(account)
        s.flush()
        grant = ReviewGrant(
            dandiset_id=dandiset.id,
            user_id=account.id,
            token_hash=hash_token(token),
            label=text,
            expires=when,
            created_by=auth.require_user(user).id,
        )
        s.add(grant)
        s.flush()
        return NewLink(_link(s, grant), token)


def revoke_link(ctx: Context, *, user: User | None, identifier: str, link_id: object) -> None:
    """Revoke a review link at once: its account (and so its grant) is deleted."""
    with ctx.db.write() as s:
        dandiset = _manageable(s, user, identifier)
        grant = None
        if isinstance(link_id, int) or (isinstance(link_id, str) and link_id.isdigit()):
            grant = s.get(ReviewGrant, int(link_id))
        if grant is None or grant.dandiset_id != dandiset.id or not grant.is_link:
            raise NotFound(f"Dandiset {dandiset.identifier} has no review link {link_id}.")
        s.execute(sa.delete(User).where(User.id == grant.user_id))


def user_for_review_token(ctx: Context, token: str) -> User:
    """The account a review link's token stands for; 401 if it is unknown, revoked or
    expired."""
    with ctx.db.read() as s:
        grant = s.scalar(sa.select(ReviewGrant).where(ReviewGrant.token_hash == hash_token(token)))
        if grant is None or (grant.expires is not None and grant.expires <= utcnow()):
            raise NotAuthenticated("This review link is unknown, revoked or expired.")
        return grant.user


def review_target(ctx: Context, token: str) -> tuple[str, datetime | None]:
    """The identifier of the dandiset a valid review token opens, and when it expires."""
    with ctx.db.read() as s:
        grant = s.scalar(sa.select(ReviewGrant).where(ReviewGrant.token_hash == hash_token(token)))
        if grant is None or (grant.expires is not None and grant.expires <= utcnow()):
            raise NotFound("This review link is unknown, revoked or expired.")
        return f"{grant.dandiset_id:06d}", grant.expires


def sweep_link_accounts(ctx: Context) -> int:
    """Delete review-link accounts whose link is gone (their dandiset was deleted)."""
    with ctx.db.write() as s:
        linked = sa.select(ReviewGrant.user_id)
        res = s.execute(
            sa.delete(User).where(
                User.username.startswith(REVIEW_LINK_USERNAME), User.id.not_in(linked)
            )
        )
        return int(getattr(res, "rowcount", 0) or 0)
