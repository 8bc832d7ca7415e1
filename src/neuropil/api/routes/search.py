"""``/api/search/``: neuropil's search — dandisets with their matching assets and facets.

DANDI's ``/api/dandisets/?search=`` answers dandisets only, in DANDI's shape; this endpoint
answers the same engine's full result: relevance order, the matching files of each
dandiset, and facet counts over the whole result set.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from neuropil.api import schemas
from neuropil.api.caller import CurrentUser
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.errors import BadRequest
from neuropil.server.request import Ctx
from neuropil.services import search as search_service

router = Router(prefix="/api/search")


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:  # also >4300 digits, which int() refuses
        raise BadRequest(f"{name} must be a whole number, not {raw[:40]!r}.") from None


def result_json(result: search_service.SearchResult) -> dict[str, Any]:
    return {
        "count": result.total,
        "page": result.page,
        "page_size": result.page_size,
        "results": [
            {
                "identifier": h.identifier,
                "name": h.name,
                "version": h.version,
                "score": h.score,
                "snippet": h.snippet,
                "asset_count": h.asset_count,
                "assets": [
                    {"path": a.path, "asset_id": a.asset_id, "size": a.size} for a in h.assets
                ],
            }
            for h in result.hits
        ],
        "facets": {
            facet: [{"value": v, "count": n} for v, n in values]
            for facet, values in result.facets.items()
        },
    }


@router.get(
    "/",
    summary="Search dandisets and their assets (neuropil extension)",
    responses=schemas.ok("SearchResult"),
)
def search(request: Request, ctx: Ctx, user: CurrentUser) -> JSON:
    """``q``: free text, quoted phrases and the operators ``species:``, ``approach:``,
    ``technique:``, ``file_type:``, ``owner:``, ``created_after:``, ``created_before:``,
    ``modified_after:``, ``modified_before:`` (dates as YYYY-MM-DD)."""
    result = search_service.search(
        ctx,
        user=user,
        query=request.query_params.get("q", ""),
        page=_int(request, "page", 1),
        page_size=_int(request, "page_size", 20),
    )
    return JSON(result_json(result))
