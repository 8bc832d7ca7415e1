"""The per-request state of a web page: the session, the signed-in user, cookies to set.

A visitor who opened a review link (``/review/<token>``) and is not signed in reads as that
link's reviewer (:attr:`Web.reader`): the link's token is kept in its own cookie
(:data:`REVIEW_COOKIE`), apart from the session, and never makes the visitor signed in.

Handlers receive a :class:`Web` (dependency :data:`WebDep`) and hand it to
:func:`neuropil.web.render.render` or :meth:`Web.redirect`, which write the session cookie
when it changed. Reading pages never sets a cookie: a session is created only when a page
holds a form (its CSRF token needs one) or the visitor signs in.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from neuropil.db.models import User, UserStatus
from neuropil.errors import NotAuthenticated
from neuropil.server.request import external_base, get_ctx
from neuropil.services import accounts, reviewers
from neuropil.services.context import Context
from neuropil.services.urls import Urls
from neuropil.web import csrf
from neuropil.web.sessions import COOKIE, Session, SessionCodec

#: The cookie holding the token of the review link this browser opened.
REVIEW_COOKIE = "np_review"


class Web:
    """Everything a page handler needs besides its own parameters."""

    def __init__(
        self,
        request: Request,
        ctx: Context,
        codec: SessionCodec,
        session: Session | None,
        user: User | None,
        *,
        clear_cookie: bool = False,
        reviewer: User | None = None,
        review_token: str | None = None,
    ) -> None:
        self.request = request
        self.ctx = ctx
        self.codec = codec
        self.session = session
        self.user = user
        self.base = external_base(request, ctx)
        #: The flash message carried by the incoming session, shown once on this page.
        self.flash = session.flash if session else None
        self._outgoing: Session | None = (
            session.with_flash(None) if session is not None and self.flash else None
        )
        self._clear = clear_cookie
        #: The account of the review link this browser opened (when nobody is signed in).
        self.reviewer = reviewer
        self.review_token = review_token
        self._review_cookie: tuple[str, int] | None = None
        self._clear_review = False

    @property
    def reader(self) -> User | None:
        """Who reads: the signed-in user, else the reviewer of an opened review link."""
        return self.user or self.reviewer

    # -- URLs ----------------------------------------------------------------------------
    @property
    def root(self) -> str:
        """The path prefix of the web app (``""``, or ``/prefix`` behind a proxy)."""
        return urlsplit(self.base).path.rstrip("/")

    @property
    def urls(self) -> Urls:
        return Urls(self.base, self.ctx.store, self.ctx.settings.blob_base_url)

    @property
    def secure(self) -> bool:
        return self.base.startswith("https://")

    # -- session -------------------------------------------------------------------------
    def _current(self) -> Session:
        if self._outgoing is not None:
            return self._outgoing
        if self.session is None or self._clear:
            self._outgoing = Session.anonymous()
            self._clear = False
            return self._outgoing
        return self.session

    def csrf_token(self) -> str:
        """The token for this page's forms (creates an anonymous session if there is none)."""
        return csrf.token(self.codec, self._current())

    def check_csrf(self, form: FormData) -> None:
        value = form.get(csrf.FIELD)
        csrf.check(self.codec, self.session, value if isinstance(value, str) else None)

    def sign_in(self, user: User) -> None:
        assert user.password_hash is not None
        self._outgoing = Session.signed_in(user.id, self.codec.fingerprint(user.password_hash))
        self.user = user

    def sign_out(self) -> None:
        self._outgoing = None
        self._clear = True
        self.user = None
        self.end_review()

    def start_review(self, token: str, max_age: int) -> None:
        """Keep a review link's token for the pages this browser reads next."""
        self._review_cookie = (token, max_age)
        self._clear_review = False

    def end_review(self) -> None:
        self.reviewer = self.review_token = None
        self._review_cookie = None
        self._clear_review = True

    def set_flash(self, message: str) -> None:
        self._outgoing = self._current().with_flash(message)

    def apply(self, response: Response) -> Response:
        """Write the session cookie onto ``response`` when it changed."""
        if self._outgoing is not None:
            response.set_cookie(
                COOKIE,
                self.codec.encode(self._outgoing),
                max_age=self._outgoing.max_age,
                path="/",
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        elif self._clear:
            response.delete_cookie(
                COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure
            )
        if self._review_cookie is not None:
            token, max_age = self._review_cookie
            response.set_cookie(
                REVIEW_COOKIE,
                token,
                max_age=max_age,
                path="/",
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        elif self._clear_review:
            response.delete_cookie(
                REVIEW_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure
            )
        return response

    def redirect(self, path: str, *, flash: str | None = None) -> Response:
        """``303 See Other`` to a page of this app (``path`` starts with ``/``)."""
        if flash:
            self.set_flash(flash)
        return self.apply(RedirectResponse(self.root + path, status_code=303))


def safe_next(path: str | None) -> str:
    """A local path to return to after signing in; anything else becomes ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def codec(request: Request) -> SessionCodec:
    found: SessionCodec = request.app.state.web_codec
    return found


def get_web(request: Request) -> Web:
    """Read the session cookie and load its user (a sync dependency: it reads the DB)."""
    ctx = get_ctx(request)
    sessions = codec(request)
    raw = request.cookies.get(COOKIE)
    session = sessions.decode(raw)
    user = None
    stale = raw is not None and session is None
    if session is not None and session.user_id is not None:
        found = accounts.user_by_id(ctx, session.user_id)
        if (
            found is not None
            and found.password_hash
            and found.status != UserStatus.REJECTED
            and sessions.fingerprint(found.password_hash) == session.fingerprint
        ):
            user = found
        else:  # password changed, account rejected or removed: the session is over
            session, stale = None, True
    token = request.cookies.get(REVIEW_COOKIE) or None
    reviewer = None
    if token is not None and user is None:
        try:
            reviewer = reviewers.user_for_review_token(ctx, token)
        except NotAuthenticated:  # revoked or expired: forget it
            token = None
    web = Web(
        request,
        ctx,
        sessions,
        session,
        user,
        clear_cookie=stale,
        reviewer=reviewer,
        review_token=token if reviewer is not None else None,
    )
    if request.cookies.get(REVIEW_COOKIE) and token is None:
        web.end_review()
    request.state.web = web
    return web


async def get_form(request: Request, web: Web = Depends(get_web)) -> FormData:
    """The posted form, after its CSRF token was checked against the session."""
    form = await request.form()
    web.check_csrf(form)
    return form


WebDep = Annotated[Web, Depends(get_web)]
FormDep = Annotated[FormData, Depends(get_form)]


def field(form: FormData, name: str) -> str:
    """A text field of a form (``""`` when absent)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def fields(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]
