"""The home page and the dandiset list (``/``, ``/dandiset/``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from starlette.responses import Response

from neuropil.errors import BadRequest
from neuropil.services import browse, dandisets
from neuropil.services.dandisets import DandisetInfo
from neuropil.services.metadata import contact_person
from neuropil.web.errors import page_router
from neuropil.web.render import render
from neuropil.web.routes.dandiset import summary_names
from neuropil.web.routes.paging import Paging, page_number
from neuropil.web.state import WebDep

router = page_router()

SORTS = {"id": "id", "name": "name", "modified": "modified", "size": "size"}
PAGE_SIZE = 25
RECENT = 8


@dataclass(frozen=True)
class DandisetRow:
    """A dandiset as a list shows it: the most recent published version, else the draft."""

    identifier: str
    name: str
    version: str
    contact: str
    modified: datetime
    files: int
    size: int
    published: bool
    status: str
    #: What the data are, from the version's assetsSummary (species names shortened to
    #: their common part: "Mus musculus - House mouse" -> "House mouse").
    species: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()


def _common_name(species: str) -> str:
    return species.rsplit(" - ", 1)[-1].strip() or species


def dandiset_row(info: DandisetInfo) -> DandisetRow:
    latest = info.published or info.draft
    stats = info.stats_for(info.draft)
    summary = latest.assets_summary or {}
    species = summary_names(summary.get("species"))
    techniques = summary_names(summary.get("measurementTechnique"))
    return DandisetRow(
        identifier=info.dandiset.identifier,
        name=latest.name,
        version=latest.version,
        contact=contact_person(latest.metadata_),
        modified=info.dandiset.modified,
        files=stats.asset_count,
        size=stats.size,
        published=info.published is not None,
        status=info.draft.status.value,
        species=tuple(dict.fromkeys(_common_name(n) for n in species)),
        techniques=tuple(techniques),
    )


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
