"""Owners of a dandiset: add and remove (owners and admins only).

DANDI replaces the whole owner list with ``PUT /users/``; the web app adds or removes one
person at a time, which reads better as a form and cannot race two editors into dropping
each other's additions. A dandiset always keeps at least one owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import Dandiset, User, UserStatus
from neuropil.errors import BadRequest, NotFound
from neuropil.services import auth
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row


def _locked(s: Session, user: User | None, identifier: str) -> Dandiset:
    dandiset = get_dandiset_row(s, identifier, lock=True)
    auth.require_visible(user, dandiset)
    auth.require_owner(user, dandiset)
    return dandiset


def add_owner(ctx: Context, *, user: User | None, identifier: str, username: str) -> list[User]:
    """Make ``username`` an owner too; returns the new owner list."""
    with ctx.db.write() as s:
        dandiset = _locked(s, user, identifier)
        new = s.scalar(sa.select(User).where(User.username == username.strip()))
        if new is None:
            raise NotFound(f"No user {username.strip()!r}; check the spelling of the username.")
        if new.status != UserStatus.APPROVED and not new.is_admin:
            raise BadRequest(
                f"{new.username} is not an approved user yet; an administrator approves "
                "accounts first."
            )
        if all(o.id != new.id for o in dandiset.owners):
            dandiset.owners.append(new)
        s.flush()
        return list(dandiset.owners)


def remove_owner(ctx: Context, *, user: User | None, identifier: str, username: str) -> list[User]:
    """Remove ``username`` from the owners; the last owner cannot be removed."""
    with ctx.db.write() as s:
        dandiset = _locked(s, user, identifier)
        keep = [o for o in dandiset.owners if o.username != username]
        if len(keep) == len(dandiset.owners):
            raise NotFound(f"{username} is not an owner of dandiset {dandiset.identifier}.")
        if not keep:
            raise BadRequest(
                "A dandiset needs at least one owner; add another owner before removing "
                f"{username}."
            )
        dandiset.owners = keep
        s.flush()
        return list(dandiset.owners)
