"""Owners of a dandiset: add, remove and replace (owners and admins only).

DANDI replaces the whole owner list with ``PUT /users/`` (:func:`set_owners`); the web app
adds or removes one person at a time, which reads better as a form and cannot race two
editors into dropping each other's additions. A dandiset always keeps at least one owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import Dandiset, User, UserStatus
from neuropil.errors import BadRequest, NotFound
from neuropil.services import auth, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row


def _locked(s: Session, user: User | None, identifier: str) -> Dandiset:
    dandiset = get_dandiset_row(s, identifier, lock=True)
    visibility.require_readable(s, user, dandiset)
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


def _usernames(body: object) -> list[str]:
    """``[{"username": ...}, ...]`` -> the names, in order, without repeats."""
    if not isinstance(body, list):
        raise BadRequest("Send a JSON list of owners, each an object with a 'username'.")
    names: list[str] = []
    for i, item in enumerate(body):
        name = item.get("username") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise BadRequest(f"Owner {i} needs a 'username' string, e.g. {{'username': 'alice'}}.")
        if name.strip() not in names:
            names.append(name.strip())
    if not names:
        raise BadRequest("Cannot remove all draft owners; a dandiset needs at least one owner.")
    return names


def set_owners(ctx: Context, *, user: User | None, identifier: str, body: object) -> list[User]:
    """Replace the owner list with the users named in ``body`` (DANDI's ``PUT /users/``).

    Every name must be an approved user (400 ``User X not found`` otherwise, as DANDI says
    it); owners who stay keep their place, new ones follow in the order given.
    """
    with ctx.db.write() as s:
        dandiset = _locked(s, user, identifier)  # 401/403/404 before the body is judged
        names = _usernames(body)
        found = {u.username: u for u in s.scalars(sa.select(User).where(User.username.in_(names)))}
        for name in names:
            new = found.get(name)
            if new is None:
                raise BadRequest(f"User {name} not found")
            if new.status != UserStatus.APPROVED and not new.is_admin:
                raise BadRequest(
                    f"{name} is not an approved user yet; an administrator approves accounts first."
                )
        kept = [o for o in dandiset.owners if o.username in found]
        added = [found[n] for n in names if all(o.username != n for o in kept)]
        dandiset.owners = kept + added
        s.flush()
        return list(dandiset.owners)
