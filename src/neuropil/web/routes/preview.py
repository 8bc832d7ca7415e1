"""A file's contents on its page, and its preview images (``.../files/preview.png``).

``preview_section`` gives the file page its "Contents" section (the object tree and the
previews on offer, or "being indexed"); the image route draws one preview. Images are plain
``<img>`` tags, so the page works without JavaScript and under the pages' CSP (images from
this origin). The route is not a page: its errors are the API's (a status and a short JSON
message, no sign-in redirect), which an ``<img>`` shows as a broken image.

Caching: an image URL names the asset id, and assets are immutable, so such an image (and
any image of a published version) is cached for a year; without the asset id, a draft's
image is revalidated (``no-cache`` + ``ETag``). Images answered to a signed-in visitor are
``private`` (the dandiset may be embargoed), those answered to anyone ``public``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from neuropil.services import preview
from neuropil.services.preview import Overview, Plan
from neuropil.web.state import Web, WebDep

router = APIRouter(include_in_schema=False)

YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Figure:
    """One preview on the page: where its image is and what it shows."""

    plan: Plan
    url: str
    #: The ``id`` of its ``<figure>``, which the tree links to.
    anchor: str

    @property
    def width(self) -> int:
        return self.plan.size[0]

    @property
    def height(self) -> int:
        return self.plan.size[1]


@dataclass(frozen=True)
class PreviewSection:
    """What ``_preview.html`` shows of one file."""

    overview: Overview
    figures: tuple[Figure, ...]

    @property
    def by_object(self) -> dict[str, Figure]:
        return {f.plan.object: f for f in self.figures}

    @property
    def open_groups(self) -> frozenset[str]:
        """Groups shown open in the tree: those holding a preview's object."""
        found: set[str] = set()
        for figure in self.figures:
            parts = figure.plan.object.split("/")
            found.update("/".join(parts[:end]) for end in range(2, len(parts) + 1))
        return frozenset(found)


def image_url(web: Web, identifier: str, version: str, path: str, asset_id: str, obj: str) -> str:
    """The URL of the preview of ``obj`` in the file at ``path`` (asset ``asset_id``)."""
    query = urlencode({"location": path, "object": obj, "asset": asset_id})
    base = f"{web.root}/dandiset/{quote(identifier, safe='')}/{quote(version, safe='')}"
    return f"{base}/files/preview.png?{query}"


def preview_section(web: Web, identifier: str, version: str, path: str) -> PreviewSection | None:
    """The file page's contents section (``None``: the file is not HDF5/NWB)."""
    overview = preview.file_overview(
        web.ctx, user=web.reader, identifier=identifier, version=version, path=path
    )
    if overview is None:
        return None
    figures = tuple(
        Figure(
            plan,
            image_url(web, identifier, version, path, overview.asset_id, plan.object),
            f"preview-{number}",
        )
        for number, plan in enumerate(overview.plans, 1)
    )
    return PreviewSection(overview, figures)


@router.get("/dandiset/{identifier}/{version}/files/preview.png")
def preview_image(identifier: str, version: str, request: Request, web: WebDep) -> Response:
    """One preview as a PNG; ``location`` names the file, ``object`` the HDF5 object."""
    params = request.query_params
    target = preview.locate_preview(
        web.ctx,
        user=web.reader,
        identifier=identifier,
        version=version,
        path=(params.get("location") or "").strip("/"),
        object_path=params.get("object") or "",
        asset_id=params.get("asset") or None,
    )
    scope = "private" if web.reader is not None else "public"
    headers = {
        "ETag": f'"{target.etag}"',
        "Cache-Control": f"{scope}, max-age={YEAR}, immutable"
        if target.immutable
        else f"{scope}, no-cache",
    }
    if _matches(request.headers.get("if-none-match"), target.etag):
        return Response(status_code=304, headers=headers)
    png = preview.render_preview(web.ctx, target)
    return Response(png, media_type="image/png", headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in tags or etag in tags
