"""``/static/{name}``: the stylesheet and the script, cacheable for a day."""

from __future__ import annotations

from importlib import resources

from starlette.responses import Response

from neuropil.errors import NotFound
from neuropil.web.errors import page_router

router = page_router()

MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _read(name: str) -> bytes:
    return resources.files("neuropil.web").joinpath("static", name).read_bytes()


FILES = {name: _read(name) for name in ("neuropil.css", "neuropil.js")}


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    body = FILES.get(name)
    if body is None:
        raise NotFound(f"No static file {name!r}.")
    media = MEDIA[name[name.rfind(".") :]]
    return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
