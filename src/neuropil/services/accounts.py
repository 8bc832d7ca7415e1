"""Web accounts: sign-up, password credentials, the admin approval queue.

API clients authenticate with tokens (:mod:`neuropil.services.auth`); people in a browser
sign in with a password. This module stores and reads the password *hash* only: hashing
and verifying belong to :mod:`neuropil.web.passwords`, so the service layer stays free of
the choice of algorithm. New sign-ups are ``PENDING`` until an admin approves them; a
pending user may sign in and read, but every write needs an approved user (the permission
rules of :mod:`neuropil.services.auth` already say so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from neuropil.db.models import REVIEW_LINK_USERNAME, ApiToken, User, UserStatus
from neuropil.errors import BadRequest, Conflict, NotFound, PermissionDenied
from neuropil.services import auth
from neuropil.services.context import Context

#: Django's username rule (DANDI's accounts are Django users): letters, digits and @.+-_
USERNAME_RE = re.compile(r"[A-Za-z0-9@.+_-]{1,150}")
#: A plausible address: something@host.tld, no spaces (delivery is not checked).
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL = 254


def check_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest(
            "Choose a username of 1-150 letters, digits and the characters @ . + - _ (no spaces)."
        )
    return username


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > MAX_EMAIL or not EMAIL_RE.fullmatch(email):
        raise BadRequest("Enter an e-mail address such as name@example.org.")
    return email


def sign_up(ctx: Context, *, username: str, email: str, name: str = "", password_hash: str) -> User:
    """Create a ``PENDING`` user who signs in with a password; an admin approves it later."""
    username = check_username(username)
    email = check_email(email)
    with ctx.db.write() as s:
        if s.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"The username {username!r} is taken; choose another one.")
        taken = s.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email.lower()))
        if taken is not None:
            raise Conflict(
                f"An account with the e-mail address {email} exists already; sign in instead."
            )
        user = User(
            username=username,
            email=email,
            name=name.strip() or username,
            status=UserStatus.PENDING,
            password_hash=password_hash,
        )
        s.add(user)
        s.flush()
        return user


def find_user(ctx: Context, *, username: str) -> User | None:
    """The user of that name, or ``None`` (sign-in must not reveal which names exist)."""
    with ctx.db.read() as s:
        return s.scalar(sa.select(User).where(User.username == username.strip()))


def user_by_id(ctx: Context, user_id: int) -> User | None:
    with ctx.db.read() as s:
        return s.get(User, user_id)


def set_password_hash(ctx: Context, *, user_id: int, password_hash: str) -> User:
    """Store a new password hash; every session signed for the old one stops working."""
    with ctx.db.write() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        user.password_hash = password_hash
        s.flush()
        return user


@dataclass(frozen=True)
class TokenState:
    """Whether a user has an API key and since when (the key itself is stored hashed)."""

    exists: bool
    created: datetime | None


def token_state(ctx: Context, *, user: User | None) -> TokenState:
    user = auth.require_user(user)
    with ctx.db.read() as s:
        created = s.scalar(sa.select(ApiToken.created).where(ApiToken.user_id == user.id))
    return TokenState(created is not None, created)


def regenerate_token(ctx: Context, *, user: User | None) -> str:
    """Replace the caller's API key and return the new one (shown once)."""
    user = auth.require_user(user)
    return auth.regenerate_token(ctx, username=user.username)


# -- the approval queue (admins) ---------------------------------------------------------------
def require_admin(user: User | None) -> User:
    user = auth.require_user(user)
    if not user.is_admin:
        raise PermissionDenied("Only administrators may manage user accounts.")
    return user


def list_users(ctx: Context, *, user: User | None, status: UserStatus | None = None) -> list[User]:
    """Users for the admin page, pending ones first, newest first within a status."""
    require_admin(user)
    pending_first = sa.case((User.status == UserStatus.PENDING, 0), else_=1)
    people = ~User.username.startswith(REVIEW_LINK_USERNAME)  # not the review links' accounts
    q = sa.select(User).where(people).order_by(pending_first, User.created.desc(), User.id.desc())
    if status is not None:
        q = q.where(User.status == status)
    with ctx.db.read() as s:
        return list(s.scalars(q))


def set_status(ctx: Context, *, user: User | None, username: str, status: UserStatus) -> User:
    """Approve or reject an account (admins only; an admin's own account is left alone)."""
    admin = require_admin(user)
    if status not in (UserStatus.APPROVED, UserStatus.REJECTED):
        raise BadRequest("An account can be approved or rejected.")
    with ctx.db.write() as s:
        target = s.scalar(sa.select(User).where(User.username == username))
        if target is None:
            raise NotFound(f"No user {username!r}.")
        if target.id == admin.id:
            raise BadRequest("You cannot change the status of your own account.")
        target.status = status
        s.flush()
        return target
