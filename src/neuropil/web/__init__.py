"""The web application: server-rendered pages for browsing, searching and managing dandisets.

Served by ``neuropil serve`` from the same process as the API (no front-end build): Jinja2
templates (``templates/``), one stylesheet and a little progressive-enhancement script
(``static/``), thin handlers in :mod:`neuropil.web.routes` calling the services. URLs mirror
DANDI's web app (``/dandiset/{id}/{version}/files?location=...``) so every client's URL
parsing works on them. Sessions are signed cookies (:mod:`~neuropil.web.sessions`), every
form carries a CSRF token (:mod:`~neuropil.web.csrf`), passwords are Argon2id hashes
(:mod:`~neuropil.web.passwords`). See ``docs/design/web.md``.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the web pages to ``app`` (``app.state.ctx`` must be set)."""
    # Imported here, not at the top: a helper such as ``neuropil.web.sessions`` stays
    # importable without loading every page and the services behind them.
    from neuropil.services.signin_limiter import SigninLimiter
    from neuropil.web.routes import (
        accounts,
        admin,
        dandiset,
        embargo,
        files,
        manage,
        pages,
        preview,
        search,
        static,
    )
    from neuropil.web.sessions import SessionCodec

    app.state.web_codec = SessionCodec(app.state.ctx.settings.signing_secret())
    app.state.signin_limiter = SigninLimiter.for_settings(app.state.ctx.settings, app.state.ctx.db)
    # Order matters: /dandiset/create before /dandiset/{identifier}.
    for module in (
        static,
        pages,
        search,
        accounts,
        admin,
        manage,
        embargo,
        preview,
        files,
        dandiset,
    ):
        app.include_router(module.router)
