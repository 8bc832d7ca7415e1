"""Route matching: a router's prefix test never turns away a request one of its routes
serves, and the order of the API's routers decides nothing but the speed (for all but one
pair of routes, which keep their order)."""

from __future__ import annotations

import itertools
import re

import pytest
from starlette.routing import Route

from neuropil.api import ROUTERS
from neuropil.api.routes import store, zarr_keys
from neuropil.api.routing import Router, prefix_pattern

#: Texts a ``{name}`` parameter may hold in a request's path (one segment each).
SEGMENTS = ("000123", "draft", "0.210812.1448", "a b", "%2F", "x.nwb", "-", "paths")


def _routes() -> list[tuple[int, Router, Route]]:
    return [
        (i, router, route)
        for i, router in enumerate(ROUTERS)
        for route in router.routes
        if isinstance(route, Route)
    ]


def _samples(path: str) -> list[str]:
    """Request paths the route ``path`` serves: each parameter filled with each text."""
    out = []
    for text in SEGMENTS:
        out.append(re.sub(r"\{[^}:]*\}", text, re.sub(r"\{[^}]*:path\}", f"{text}/{text}", path)))
        out.append(re.sub(r"\{[^}]*:path\}", "", re.sub(r"\{[^}:]*\}", text, path)))
    return out


def test_a_prefix_stands_for_whole_segments() -> None:
    under = prefix_pattern("/api/dandisets/{identifier}/versions/{version}/assets")
    assert under.match("/api/dandisets/000001/versions/draft/assets/")
    assert under.match("/api/dandisets/000001/versions/draft/assets/x/info/")
    assert under.match("/api/dandisets/000001/versions/draft/assets")
    assert not under.match("/api/dandisets/000001/versions/draft/assetsX/")
    assert not under.match("/api/dandisets/000001/x/versions/draft/assets/")
    assert not under.match("/api/dandisets//versions/draft/assets/")
    assert not under.match("/store/api/dandisets/000001/versions/draft/assets/")


def test_a_prefix_with_a_convertor_is_refused() -> None:
    with pytest.raises(ValueError, match="plain"):
        Router(prefix="/store/{key:path}")


@pytest.mark.parametrize(
    ("index", "router", "route"),
    [pytest.param(*r, id=f"{r[2].path} {sorted(r[2].methods)}") for r in _routes()],
)
def test_every_request_a_route_serves_passes_its_routers_prefix(
    index: int, router: Router, route: Route
) -> None:
    if not router.prefix:
        return  # no prefix, no test: every route is tried
    under = prefix_pattern(router.prefix)
    served = [path for path in _samples(route.path) if route.path_regex.match(path)]
    assert served  # the samples are requests the route serves
    for path in served:
        assert under.match(path), (path, router.prefix)


def _overlap(a: str, b: str) -> bool:
    """Whether one request path can match both route paths."""
    for x, y in itertools.zip_longest(a.strip("/").split("/"), b.strip("/").split("/")):
        if (x or "").endswith(":path}") or (y or "").endswith(":path}"):
            return True
        if x is None or y is None:
            return False
        if x != y and not x.startswith("{") and not y.startswith("{"):
            return False
    return True


def test_only_one_pair_of_routes_of_two_routers_serves_the_same_requests() -> None:
    shared = [
        (ra.path, rb.path)
        for (ia, _, ra), (ib, _, rb) in itertools.combinations(_routes(), 2)
        if ia != ib and ra.methods & rb.methods and _overlap(ra.path, rb.path)
    ]
    assert shared == [("/store/zarr/{rest:path}", "/store/{key:path}")]
    # ... and the Zarr key PUTs are tried first.
    assert ROUTERS.index(zarr_keys.router) < ROUTERS.index(store.router)
