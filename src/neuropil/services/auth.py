"""Users, API tokens and the permission rules (DANDI's matrix)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import ApiToken, Dandiset, User, UserStatus
from neuropil.errors import BadRequest, Conflict, NotAuthenticated, NotFound, PermissionDenied
from neuropil.services.context import Context


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def user_for_token(ctx: Context, key: str) -> User:
    """The user a token belongs to; an unknown token is a 401 as on DANDI."""
    with ctx.db.read() as s:
        user = s.scalar(sa.select(User).join(ApiToken).where(ApiToken.key_hash == hash_token(key)))
    if user is None:
        raise NotAuthenticated("Invalid token.")
    return user


def _set_token(s: Session, user: User) -> str:
    key = secrets.token_hex(20)  # 40 hex characters, like DRF tokens
    s.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
    s.add(ApiToken(user_id=user.id, key_hash=hash_token(key)))
    return key


def create_user(
    ctx: Context,
    *,
    username: str,
    email: str = "",
    name: str = "",
    admin: bool = False,
    approved: bool = True,
) -> tuple[User, str]:
    """Create a user and return it with a fresh API token."""
    if not username or len(username) > 150 or any(c.isspace() for c in username):
        raise BadRequest("Username must be 1-150 characters without white space.")
    with ctx.db.write() as s:
        if s.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"User {username!r} already exists.")
        user = User(
            username=username,
            email=email,
            name=name or username,
            is_admin=admin,
            status=UserStatus.APPROVED if approved else UserStatus.PENDING,
        )
        s.add(user)
        s.flush()
        key = _set_token(s, user)
    return user, key


def regenerate_token(ctx: Context, *, username: str) -> str:
    with ctx.db.write() as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"No user {username!r}.")
        return _set_token(s, user)


def get_user(ctx: Context, *, username: str) -> User:
    with ctx.db.read() as s:
        user = s.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


# -- permission rules ------------------------------------------------------------------------
def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthenticated("Authentication credentials were not provided.")
    return user


def require_approved(user: User | None) -> User:
    """Unsafe methods need an approved user: anonymous 401, others 403."""
    user = require_user(user)
    if not user.is_approved:
        raise PermissionDenied("Your account is not approved yet; ask an administrator.")
    return user


def is_owner(user: User | None, dandiset: Dandiset) -> bool:
    return user is not None and (user.is_admin or any(o.id == user.id for o in dandiset.owners))


def require_owner(user: User | None, dandiset: Dandiset) -> User:
    user = require_approved(user)
    if not is_owner(user, dandiset):
        raise PermissionDenied(
            f"You do not own dandiset {dandiset.identifier}; only its owners may change it."
        )
    return user


def require_visible(user: User | None, dandiset: Dandiset) -> None:
    """Embargoed dandisets are readable by owners only (anonymous 401, others 403)."""
    if dandiset.embargo_status.value == "OPEN":
        return
    if user is None:
        raise NotAuthenticated("This dandiset is embargoed; authenticate as an owner.")
    if not is_owner(user, dandiset):
        raise PermissionDenied("This dandiset is embargoed; only its owners may read it.")
