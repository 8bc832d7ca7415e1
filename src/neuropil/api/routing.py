"""The API's routers: a request outside a router's prefix passes it with one test.

FastAPI finds a request's route by trying the routes in order, each with a regular
expression and some bookkeeping in the request's scope: about 20,000 instructions a route
(counted with callgrind), tried twice in the router that holds the match. Behind 57 routes,
a blob read spent a quarter of its CPU finding its own route (``docs/design/performance.md``,
seventh round). A :class:`Router` with a prefix first tests the request's path against the
prefix alone, and only when it starts so tries its routes; what a request is served by is
unchanged, since none of them could have matched.

A matched route's request then passes through FastAPI's handling: three exit stacks, its
telemetry hooks, the solving of the handler's parameters, the exception wrapping of the
route; about 0.3 million instructions (``docs/design/performance.md``, eighth round). The
hot reads (:func:`~neuropil.server.reads.short_read` handlers) take nothing but the request
and text path parameters, and return their response: a :class:`Route` calls them directly.
Their errors go to the same exception handlers, from the app's exception middleware.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from neuropil.server.reads import is_short_read

#: A path parameter in a route's path (``{identifier}``, ``{key:path}``).
_PARAMETER = re.compile(r"\{([^}]*)\}")


def prefix_pattern(prefix: str) -> re.Pattern[str]:
    """What the paths of the routes under ``prefix`` start with: the prefix, each of its
    parameters one path segment (as Starlette matches a ``{name}``), then ``/`` or the end
    (a route's own path starts with ``/`` or is empty)."""
    parts = _PARAMETER.split(prefix)
    literals, names = parts[::2], parts[1::2]
    for name in names:
        if ":" in name:  # a convertor may match other text than one segment
            raise ValueError(f"A router prefix takes plain {{name}} parameters, not {{{name}}}")
    return re.compile("[^/]+".join(re.escape(part) for part in literals) + "(?:/|$)")


class Route(APIRoute):
    """A FastAPI route; that of a short read calls its handler directly (module docstring)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.direct = is_short_read(endpoint)
        if self.direct:
            _check_direct(self)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.direct or scope["method"] not in (self.methods or ()):
            await super().handle(scope, receive, send)  # FastAPI's own, and its 405
            return
        request = Request(scope, receive, send)
        response: Response = await self.endpoint(request, **scope["path_params"])
        await response(scope, receive, send)


def _check_direct(route: APIRoute) -> None:
    """Refuse a short read whose handler needs FastAPI's solving of its parameters."""
    d = route.dependant
    solved = [*d.query_params, *d.header_params, *d.cookie_params, *d.body_params]
    if d.request_param_name != "request" or solved or d.dependencies:
        raise TypeError(
            f"{route.path}: a short read takes the request and its path parameters only"
        )
    for field in d.path_params:
        if field.field_info.annotation is not str:
            raise TypeError(f"{route.path}: path parameter {field.name!r} must be text")
    if route.status_code is not None or route.response_field is not None:
        raise TypeError(f"{route.path}: a short read returns its own response")


class Router(APIRouter):
    """An :class:`~fastapi.APIRouter` whose routes are tried only for paths under its
    ``prefix`` (all of them without one), with :class:`Route` routes."""

    def __init__(self, *, prefix: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("route_class", Route)
        super().__init__(prefix=prefix, **kwargs)
        self._under = prefix_pattern(prefix) if prefix else None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Behind a proxy's path prefix (``root_path``) the routes see the path without it:
        # FastAPI's own matching then decides.
        if (
            self._under is not None
            and scope["type"] == "http"
            and not scope.get("root_path")
            and self._under.match(scope["path"]) is None
        ):
            return Match.NONE, {}
        return super().matches(scope)
