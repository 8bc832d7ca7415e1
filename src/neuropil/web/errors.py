"""Errors on web pages: the same domain errors as the API, shown as HTML.

Web routes use :class:`HtmlRoute` (every :func:`page_router` does), which turns a
:class:`~neuropil.errors.NeuropilError` (raised by a service, a dependency or the CSRF check)
into an error page with the error's status and message; a page that needs a signed-in user
redirects to the sign-in form instead. The API's JSON error handlers never see these errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from neuropil.errors import NeuropilError
from neuropil.server.request import get_ctx
from neuropil.web.render import render
from neuropil.web.state import Web, codec

log = logging.getLogger(__name__)

TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible",
    409: "Conflict",
    423: "Busy",
}


def _web(request: Request) -> Web:
    web = getattr(request.state, "web", None)
    if isinstance(web, Web):
        return web
    return Web(request, get_ctx(request), codec(request), None, None)


def error_page(request: Request, status: int, message: str, details: list[str]) -> Response:
    web = _web(request)
    if status == 401 and request.method == "GET" and web.user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        web.set_flash(message)
        return web.apply(
            RedirectResponse(f"{web.root}/login?next={quote(target, safe='')}", status_code=303)
        )
    title = TITLES.get(status, "Something went wrong")
    return render(web, "error.html", status=status, title=title, message=message, details=details)


class HtmlRoute(APIRoute):
    """An API route whose errors become HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except NeuropilError as exc:
                return error_page(request, exc.status_code, exc.message, [])
            except RequestValidationError as exc:
                details = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: "
                    f"{e.get('msg', 'invalid value')}"
                    for e in exc.errors()
                ]
                return error_page(request, 400, "The request has invalid parameters.", details)

        return handler


def page_router() -> APIRouter:
    """A router for web pages: HTML errors, and kept out of the API's OpenAPI document."""
    return APIRouter(route_class=HtmlRoute, include_in_schema=False)
