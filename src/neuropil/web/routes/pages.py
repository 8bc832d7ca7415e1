"""The home page and the dandiset list (``/``, ``/dandiset/``)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from neuropil.errors import BadRequest
from neuropil.services import browse, dandisets
from neuropil.web.render import render
from neuropil.web.routes._common import Paging, dandiset_row, page_number, page_router
from neuropil.web.state import WebDep

router = page_router()

SORTS = {"id": "id", "name": "name", "modified": "modified", "size": "size"}
PAGE_SIZE = 25
RECENT = 8


@router.get("/")
def home(web: WebDep) -> Response:
    stats = browse.archive_stats(web.ctx)
    _, recent = dandisets.list_dandisets(
        web.ctx, user=web.user, ordering="-modified", offset=0, limit=RECENT
    )
    return render(web, "home.html", stats=stats, recent=[dandiset_row(i) for i in recent])


@router.get("/dandiset")
@router.get("/dandiset/")
def browse_dandisets(request: Request, web: WebDep) -> Response:
    q = request.query_params
    sort = q.get("sort") or "id"
    if sort not in SORTS:
        raise BadRequest(f"Unknown sort {sort!r}; sort by one of {', '.join(SORTS)}.")
    order = "desc" if q.get("order") == "desc" else "asc"
    mine = q.get("mine") == "1" and web.user is not None
    number = page_number(q.get("page"))
    total, infos = dandisets.list_dandisets(
        web.ctx,
        user=web.user,
        mine=mine,
        ordering=("-" if order == "desc" else "") + SORTS[sort],
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return render(
        web,
        "browse.html",
        rows=[dandiset_row(i) for i in infos],
        paging=Paging(number, PAGE_SIZE, total),
        sort=sort,
        order=order,
        mine=mine,
        sorts=list(SORTS),
    )
