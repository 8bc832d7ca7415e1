"""Route matching: a router's prefix test never turns away a request one of its routes
serves, and the order of the API's routers decides nothing but the speed (for all but one
pair of routes, which keep their order)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.responses import Response
from starlette.routing import Route

from neuropil import api
from neuropil.api import ROUTERS, errors, routing
from neuropil.api.responses import JSON
from neuropil.api.routes import store, zarr_keys
from neuropil.api.routing import Router, prefix_pattern
from neuropil.errors import NotFound
from neuropil.server.reads import short_read

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


# -- short reads: their routes call them directly -------------------------------------------

#: The hot reads (``short_read`` handlers), which their routes call without FastAPI's
#: solving of parameters (``neuropil.api.routing.Route``).
DIRECT = {
    ("/api/dandisets/", "GET"),
    ("/api/dandisets/{identifier}/versions/{version}/info/", "GET"),
    ("/api/dandisets/{identifier}/versions/{version}/assets/", "GET"),
    ("/store/{key:path}", "GET"),
}


def test_the_short_reads_are_called_directly_and_nothing_else_is() -> None:
    direct = {
        (route.path, method)
        for _, _, route in _routes()
        if isinstance(route, routing.Route) and route.direct
        for method in route.methods or ()
    }
    assert direct == DIRECT | {("/store/{key:path}", "HEAD")}


def test_a_direct_route_is_given_no_dependencies_by_its_router() -> None:
    """The app includes the routers as they are: no dependency that a direct call would
    skip is added to their routes on the way."""
    app = FastAPI()
    api.install(app)
    for route in app.routes:
        if isinstance(route, routing.Route) and route.direct:
            assert not route.dependencies
            assert not route.dependant.dependencies
    for router in ROUTERS:
        assert not router.dependencies


def _handler_with(*params: str) -> Any:
    """A short read taking ``request`` and ``params`` (a path parameter ``x``, or a query
    parameter ``q`` with a default, or a dependency ``d``)."""

    def get_q(request: Request, q: int = 1) -> Response:  # a query parameter
        return Response()

    def get_d(request: Request, d: Annotated[int, Depends(lambda: 1)]) -> Response:
        return Response()

    def get_x(request: Request, x: int) -> Response:  # a path parameter, not text
        return Response()

    handlers: dict[str, Callable[..., Response]] = {"q": get_q, "d": get_d, "x": get_x}
    return short_read(handlers[params[0]])


@pytest.mark.parametrize(
    ("param", "path", "message"),
    [
        ("q", "/r/", "request and its path parameters only"),
        ("d", "/r/", "request and its path parameters only"),
        ("x", "/r/{x}/", "must be text"),
    ],
)
def test_a_short_read_that_needs_fastapis_parameters_is_refused(
    param: str, path: str, message: str
) -> None:
    router = Router(prefix="/r")
    with pytest.raises(TypeError, match=message):
        router.add_api_route(path.removeprefix("/r"), _handler_with(param), methods=["GET"])


def test_a_direct_route_answers_as_fastapi_would() -> None:
    """The same answer, errors included, with and without the direct call: an app with a
    short read beside the same handler unmarked."""

    def read(request: Request, name: str) -> Response:
        if name == "missing":
            raise NotFound(f"No {name}.")
        if name == "boom":
            raise HTTPException(418, "teapot")
        return JSON({"name": name, "q": request.query_params.get("q")})

    app = FastAPI()
    errors.install(app)
    direct, plain = Router(prefix="/direct"), Router(prefix="/plain")
    direct.add_api_route("/{name}/", short_read(read), methods=["GET"])
    plain.add_api_route("/{name}/", read, methods=["GET"])
    app.include_router(direct)
    app.include_router(plain)
    assert [r.direct for r in direct.routes if isinstance(r, routing.Route)] == [True]

    async def compare() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for path in ("/x%20y/?q=1", "/missing/", "/boom/"):
                a, b = await c.get("/direct" + path), await c.get("/plain" + path)
                assert (a.status_code, a.json()) == (b.status_code, b.json()), path
            assert (await c.get("/direct/x/")).json() == {"name": "x", "q": None}
            assert (await c.get("/direct/missing/")).status_code == 404
            refused = await c.post("/direct/x/")
            assert refused.status_code == (await c.post("/plain/x/")).status_code == 405

    anyio.run(compare)
