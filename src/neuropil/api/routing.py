"""The API's routers: a request outside a router's prefix passes it with one test.

FastAPI finds a request's route by trying the routes in order, each with a regular
expression and some bookkeeping in the request's scope: about 20,000 instructions a route
(counted with callgrind), tried twice in the router that holds the match. Behind 57 routes,
a blob read spent a quarter of its CPU finding its own route (``docs/design/performance.md``,
seventh round). A :class:`Router` with a prefix first tests the request's path against the
prefix alone, and only when it starts so tries its routes; what a request is served by is
unchanged, since none of them could have matched.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope

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


class Router(APIRouter):
    """An :class:`~fastapi.APIRouter` whose routes are tried only for paths under its
    ``prefix`` (all of them without one)."""

    def __init__(self, *, prefix: str = "", **kwargs: Any) -> None:
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
