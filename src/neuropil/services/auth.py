"""Users, API tokens and the permission rules (DANDI's matrix)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import ApiToken, Dandiset, Upload, User, UserStatus
from neuropil.errors import BadRequest, Conflict, NotAuthenticated, NotFound, PermissionDenied
from neuropil.services.context import Context

#: The 401 for a key this archive does not know. It starts as DANDI's does; the rest says
#: where keys come from, since the usual cause is a key made for another archive (or by
#: `neuropil users add` on another data directory than the server's).
UNKNOWN_TOKEN = (
    "Invalid token. This archive knows no such API key: a key is valid only on the archive "
    "that made it. Get yours on this archive's website (your account page, /account), or ask "
    "its admin to run `neuropil users add NAME` on the server (it uses the data directory of "
    "the running `neuropil serve`, or --data DIR)."
)


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def user_for_token(ctx: Context, key: str) -> User:
    """The user a token belongs to; an unknown token is a 401 as on DANDI."""
    with ctx.db.read() as s:
        user = s.scalar(sa.select(User).join(ApiToken).where(ApiToken.key_hash == hash_token(key)))
    if user is None:
        raise NotAuthenticated(UNKNOWN_TOKEN)
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
    if user.is_review_link:
        raise PermissionDenied("A review link gives read access only.")
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


def require_uploader(user: User | None, upload: Upload) -> User:
    """An upload is completed, validated and resumed by the user who started it (or an
    admin): another owner of the dandiset would be finishing bytes they never sent."""
    user = require_approved(user)
    if upload.user_id != user.id and not user.is_admin:
        raise PermissionDenied(
            "This upload was started by another user; only they (or an administrator) may "
            "complete, validate or resume it. Start your own upload instead."
        )
    return user
