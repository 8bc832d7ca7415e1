"""Accounts: sign up, sign in and out, the API-key page, passwords.

People created with ``neuropil users add`` (the first admin, say) have an API token but no
password; ``/login/token`` lets them set one by proving they hold the token (which already
grants everything the web app can do), and it doubles as "forgot my password".
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from neuropil.db.models import User, UserStatus
from neuropil.errors import BadRequest, NeuropilError, NotAuthenticated
from neuropil.server.request import client_address
from neuropil.services import accounts, auth
from neuropil.services.signin_limiter import SigninLimiter
from neuropil.web import passwords
from neuropil.web.errors import page_router
from neuropil.web.render import render
from neuropil.web.state import FormDep, Web, WebDep, field, safe_next

router = page_router()

WRONG = "Wrong username or password."
PENDING = (
    "Your account awaits approval by an administrator. You can read everything meanwhile; "
    "creating and changing dandisets needs an approved account."
)


def _limited(web: Web, account: str | None) -> AbstractContextManager[None]:
    """The sign-in limiter's guard for one password (or API key) check by this client."""
    limiter: SigninLimiter = web.request.app.state.signin_limiter
    return limiter.attempt(account=account, address=client_address(web.request, web.ctx))


def _with_retry_after(response: Response, exc: NeuropilError) -> Response:
    """429 and 503 pages say when to try again, as the API's answers do."""
    response.headers.update(exc.headers)
    return response


def _new_password(form: FormData, username: str) -> str:
    password = field(form, "password")
    if password != field(form, "confirm"):
        raise BadRequest("The two passwords differ; type the same password twice.")
    passwords.check_strength(password, username=username)
    return password


# -- sign up -------------------------------------------------------------------------------
@router.get("/signup")
def signup_form(web: WebDep) -> Response:
    return render(web, "signup.html", error=None, values={})


@router.post("/signup")
def signup(web: WebDep, form: FormDep) -> Response:
    values = {k: field(form, k) for k in ("username", "email", "name")}
    try:
        password = _new_password(form, values["username"])
        user = accounts.sign_up(
            web.ctx,
            username=values["username"],
            email=values["email"],
            name=values["name"],
            password_hash=passwords.hash_password(password),  # gated: 503 when busy
        )
    except NeuropilError as exc:
        page = render(web, "signup.html", status=exc.status_code, error=exc.message, values=values)
        return _with_retry_after(page, exc)
    web.sign_in(user)
    return web.redirect("/account", flash=f"Welcome, {user.username}! {PENDING}")


# -- sign in and out -----------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, web: WebDep) -> Response:
    return render(
        web, "login.html", error=None, username="", next=safe_next(request.query_params.get("next"))
    )


def _authenticate(web: Web, username: str, password: str) -> User:
    user = accounts.find_user(web.ctx, username=username)
    if not passwords.verify_password(user.password_hash if user else None, password):
        raise NotAuthenticated(WRONG)
    assert user is not None and user.password_hash is not None
    if user.status == UserStatus.REJECTED:
        raise NotAuthenticated("This account was not approved; contact an administrator.")
    if passwords.needs_rehash(user.password_hash):
        user = accounts.set_password_hash(
            web.ctx, user_id=user.id, password_hash=passwords.hash_password(password)
        )
    return user


@router.post("/login")
def login(web: WebDep, form: FormDep) -> Response:
    username, target = field(form, "username"), safe_next(field(form, "next"))
    try:
        with _limited(web, username):  # 429 before hashing when over budget
            user = _authenticate(web, username, field(form, "password"))
    except NeuropilError as exc:  # wrong (401), too many failures (429), busy (503)
        page = render(
            web,
            "login.html",
            status=exc.status_code,
            error=exc.message,
            username=username,
            next=target,
        )
        return _with_retry_after(page, exc)
    web.sign_in(user)
    flash = PENDING if not user.is_approved else f"Signed in as {user.username}."
    return web.redirect(target, flash=flash)


@router.post("/logout")
def logout(web: WebDep, form: FormDep) -> Response:
    web.sign_out()
    return web.redirect("/", flash="You are signed out.")


@router.get("/login/token")
def token_login_form(web: WebDep) -> Response:
    return render(web, "token_login.html", error=None)


@router.post("/login/token")
def token_login(web: WebDep, form: FormDep) -> Response:
    try:
        with _limited(web, None):  # per address: keys are not guessed either
            holder = auth.user_for_token(web.ctx, field(form, "api_key").strip())
        password = _new_password(form, holder.username)
        user = accounts.set_password_hash(
            web.ctx, user_id=holder.id, password_hash=passwords.hash_password(password)
        )
    except NeuropilError as exc:
        message = "That API key is not valid." if isinstance(exc, NotAuthenticated) else exc.message
        page = render(web, "token_login.html", status=exc.status_code, error=message)
        return _with_retry_after(page, exc)
    web.sign_in(user)
    return web.redirect("/account", flash=f"Password set; signed in as {user.username}.")


# -- the account page: API key and password ----------------------------------------------------
def _account(
    web: Web, *, status: int = 200, new_key: str | None = None, error: str | None = None
) -> Response:
    user = auth.require_user(web.user)
    state = accounts.token_state(web.ctx, user=user)
    response = render(
        web,
        "account.html",
        status=status,
        token=state,
        new_key=new_key,
        error=error,
        pending=not user.is_approved,
    )
    return response


@router.get("/account")
def account(web: WebDep) -> Response:
    return _account(web)


@router.post("/account/api-key")
def regenerate_key(web: WebDep, form: FormDep) -> Response:
    key = accounts.regenerate_token(web.ctx, user=web.user)
    return _account(web, new_key=key)


@router.post("/account/password")
def change_password(web: WebDep, form: FormDep) -> Response:
    user = auth.require_user(web.user)
    try:
        with _limited(web, user.username):  # a stolen session must not guess the password
            if not passwords.verify_password(user.password_hash, field(form, "current")):
                raise NotAuthenticated("Your current password is not right.")
        password = _new_password(form, user.username)
        password_hash = passwords.hash_password(password)
    except NeuropilError as exc:
        status = 400 if isinstance(exc, NotAuthenticated) else exc.status_code
        return _with_retry_after(_account(web, status=status, error=exc.message), exc)
    updated = accounts.set_password_hash(web.ctx, user_id=user.id, password_hash=password_hash)
    web.sign_in(updated)  # this browser stays signed in; every other session ends
    return web.redirect("/account", flash="Password changed; other sessions are signed out.")
